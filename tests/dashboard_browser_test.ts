import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { Page } from "playwright-core";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";
import { cycle, TEST_SERVICE_KEY } from "./_helpers/app.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const SCREENSHOT = new URL("../.tmp/dashboard.png", import.meta.url).pathname;
const FAILURE_SCREENSHOT = new URL("../.tmp/dashboard-failure.png", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Debian's chromium, installed with apt-get when missing and we are root. */
function ensureChromium(): string | undefined {
  if (exists(CHROMIUM)) return undefined;
  if (Deno.uid?.() === 0) {
    new Deno.Command("sh", {
      args: ["-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (exists(CHROMIUM)) return undefined;
  }
  return `${CHROMIUM} is missing and could not be installed (apt-get install chromium)`;
}

/** Waits until the events table shows exactly `count` rows. */
async function waitForRows(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    `document.querySelectorAll("[data-testid=events] tbody tr").length === ${count}`,
  );
}

const missing = ensureChromium();
if (missing) {
  console.error(
    `\n${"!".repeat(78)}\n!!! dashboard browser test NOT RUN: ${missing}\n${"!".repeat(78)}\n`,
  );
}

Deno.test({
  name: "dashboard filters, pages and resolves an event in headless Chromium",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await createTestDatabase();
    const errorsSeen: string[] = [];
    await using api = startApiServer(db.sql);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    await Deno.mkdir(new URL("../.tmp/", import.meta.url), { recursive: true });
    try {
      await insertEvents(db.sql, 55, { severity: "HIGH", title: "Repeated failures" });
      await insertEvents(db.sql, 6, {
        severity: "CRITICAL",
        title: "Card drained",
        detector: "balance_mismatch_detection",
        cardId: "card-42",
        newest: new Date(Date.now() - 3_600_000),
      });
      await cycle(db.sql, {}); // tiers, breakers and one health snapshot
      await db.sql`
        insert into system_health_snapshots (snapshot_timestamp, success_rate_percent,
          total_transactions_last_hour, monitoring_events_last_hour, overall_health_status)
        select now() - h * interval '1 hour', 90 + (h % 5) * 2, 100 + h, h % 7, 'HEALTHY'
        from generate_series(1, 23) as h`;

      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const errors = errorsSeen;
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on(
        "requestfailed",
        (request) => errors.push(`${request.url()}: ${request.failure()?.errorText}`),
      );
      await page.goto(`${api.origin}/dashboard/`);
      await page.fill("input[name=key]", TEST_SERVICE_KEY);
      await page.click("#connect button[type=submit]");

      const rows = page.locator("[data-testid=events] tbody tr");
      await waitForRows(page, 50);
      const firstPage = await rows.evaluateAll((trs) =>
        trs.map((tr) => tr.getAttribute("data-event-id"))
      );
      await page.locator("[data-testid=tiers] tbody tr").first().waitFor();
      assert.match(
        await page.textContent("[data-testid=snapshot]") ?? "",
        /HEALTHY|WARNING|CRITICAL/,
      );
      assert.ok(
        await page.locator("#chart svg path.rate").count() === 1,
        "success-rate line drawn",
      );

      // Older page: the remaining events (the cycle added its own), none repeated.
      const [{ total }] = await db.sql<{ total: number }[]>`
        select count(*)::int as total from monitoring_events`;
      await page.click("#next");
      await waitForRows(page, total - 50);
      const secondPage = await rows.evaluateAll((trs) =>
        trs.map((tr) => tr.getAttribute("data-event-id"))
      );
      assert.equal(new Set([...firstPage, ...secondPage]).size, total);
      assert.equal(await page.locator("#next").isDisabled(), true);

      // Filter: only the CRITICAL ones.
      await page.selectOption("select[name=severity]", "CRITICAL");
      await page.click("#filters button[type=submit]");
      await waitForRows(page, 6);
      assert.deepEqual(
        [...new Set(await rows.locator("td:nth-child(3)").allTextContents())],
        ["CRITICAL"],
      );

      // Open one and resolve it with a note.
      await rows.first().click();
      await page.locator("[data-testid=detail]").waitFor();
      const eventId = Number(await rows.first().getAttribute("data-event-id"));
      assert.match(await page.textContent("#detail-title") ?? "", /Card drained/);
      await page.fill("#notes", "refunded by support");
      await page.click("button[data-status=RESOLVED]");
      await page.waitForFunction(
        `document.querySelector("#detail-message")?.textContent === "Marked RESOLVED"`,
      );
      const [row] = await db.sql<{ status: string; resolution_notes: string; resolved: boolean }[]>`
        select status, resolution_notes, resolved_at is not null as resolved
        from monitoring_events where event_id = ${eventId}`;
      assert.deepEqual({ ...row }, {
        status: "RESOLVED",
        resolution_notes: "refunded by support",
        resolved: true,
      });
      assert.equal(await page.locator("button[data-status=ACKNOWLEDGED]").isDisabled(), true);
      assert.equal(await page.locator("[data-testid=status-changes] tbody tr").count(), 1);
      assert.match(
        await page.locator(`[data-testid=events] tbody tr[data-event-id="${eventId}"]`)
          .textContent() ?? "",
        /RESOLVED/,
      );

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`dashboard screenshot: ${SCREENSHOT}`);
      assert.deepEqual(errors, [], "no script errors in the page");
    } catch (error) {
      const page = browser.contexts()[0]?.pages()[0];
      await page?.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => {});
      throw new Error(
        `${error}\nscreenshot: ${FAILURE_SCREENSHOT}\npage errors: ${JSON.stringify(errorsSeen)}`,
      );
    } finally {
      await browser.close();
      await api.stop();
      await db.drop();
    }
  },
});
