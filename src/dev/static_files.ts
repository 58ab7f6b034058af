const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
};

/**
 * Serves one file from `root` (the dashboard folder). Paths that climb out of the
 * folder are refused; an empty path serves index.html.
 */
export async function serveStatic(root: URL, relative: string): Promise<Response> {
  const clean = decodeURIComponent(relative || "index.html");
  if (clean.split("/").some((part) => part === ".." || part.startsWith("."))) {
    return new Response("Not found", { status: 404 });
  }
  try {
    const body = await Deno.readFile(new URL(clean, root));
    const ext = clean.split(".").pop() ?? "";
    return new Response(body, {
      headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
    });
  } catch {
    return new Response("Not found", { status: 404 });
  }
}
