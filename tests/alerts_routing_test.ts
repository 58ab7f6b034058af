import assert from "node:assert/strict";
import { receiversFor, resolveRoutes } from "../src/alerts/route/route_tree.ts";
import { alertsConfig, DEFAULT_ROUTE } from "../src/alerts/alert_config.ts";
import type { RouteConfig } from "../src/alerts/alert_config.ts";
import { matches, parseMatcher } from "../src/alerts/matchers.ts";
import type { Labels } from "../src/alerts/labels.ts";

Deno.test("receiversFor() sends each severity where the documented default tree says", () => {
  const table: [Labels, string[]][] = [
    [{ severity: "CRITICAL", pack: "festival" }, ["webhook", "email", "pagerduty", "slack"]],
    [{ severity: "HIGH", pack: "exchange" }, ["webhook", "email", "slack"]],
    [{ severity: "MEDIUM", pack: "festival" }, ["slack"]],
    [{ severity: "LOW", pack: "trades" }, []],
  ];
  for (const [labels, receivers] of table) {
    assert.deepEqual(receiversFor(DEFAULT_ROUTE, labels), receivers, JSON.stringify(labels));
  }
});

Deno.test("resolveRoutes() gives the MEDIUM digest a longer group_wait and inherits the rest", () => {
  const [medium] = resolveRoutes(DEFAULT_ROUTE, { severity: "MEDIUM" });
  assert.deepEqual(medium, {
    path: "0.3",
    receivers: ["slack"],
    group_by: ["pack", "detector"],
    group_wait_seconds: 600,
    group_interval_seconds: 3600,
    repeat_interval_seconds: 4 * 3600,
  });
  const [, critical] = resolveRoutes(DEFAULT_ROUTE, { severity: "CRITICAL" });
  assert.equal(critical.group_wait_seconds, 0);
  assert.equal(critical.group_interval_seconds, 300);
});

const TREE: RouteConfig = {
  receivers: ["email"],
  group_by: ["pack"],
  routes: [
    {
      matchers: ["pack=festival"],
      receivers: ["slack"],
      group_wait_seconds: 5,
      routes: [
        { matchers: ["detector=balance_mismatch_detection"], receivers: ["pagerduty"] },
        { matchers: ["event_type=~duplicate_.*"], continue: true, group_by: ["card_id"] },
        { matchers: ["severity!=LOW"], receivers: ["webhook"] },
      ],
    },
    { matchers: ["pack=exchange", "severity=CRITICAL"], receivers: ["pagerduty"] },
    { matchers: ["pack=~exchange|trades"], receivers: [] },
  ],
};

Deno.test("resolveRoutes() matches children in order, first wins unless continue, children inherit", () => {
  const table: [string, Labels, { path: string; receivers: string[]; group_by: string[] }[]][] = [
    ["nested first match", {
      pack: "festival",
      detector: "balance_mismatch_detection",
      severity: "CRITICAL",
    }, [{ path: "0.0.0", receivers: ["pagerduty"], group_by: ["pack"] }]],
    ["continue reaches the next sibling; unset receivers inherited", {
      pack: "festival",
      event_type: "duplicate_scan",
      severity: "MEDIUM",
    }, [
      { path: "0.0.1", receivers: ["slack"], group_by: ["card_id"] },
      { path: "0.0.2", receivers: ["webhook"], group_by: ["pack"] },
    ]],
    ["no child matches: the parent is the match", {
      pack: "festival",
      severity: "LOW",
    }, [{ path: "0.0", receivers: ["slack"], group_by: ["pack"] }]],
    ["all matchers of a route must match", { pack: "exchange", severity: "HIGH" }, [
      { path: "0.2", receivers: [], group_by: ["pack"] },
    ]],
    ["both matchers match", { pack: "exchange", severity: "CRITICAL" }, [
      { path: "0.1", receivers: ["pagerduty"], group_by: ["pack"] },
    ]],
    ["nothing matches: the root", { pack: "core", severity: "HIGH" }, [
      { path: "0", receivers: ["email"], group_by: ["pack"] },
    ]],
  ];
  for (const [name, labels, expected] of table) {
    const found = resolveRoutes(TREE, labels).map(({ path, receivers, group_by }) => ({
      path,
      receivers,
      group_by,
    }));
    assert.deepEqual(found, expected, name);
  }
  assert.equal(resolveRoutes(TREE, { pack: "festival" })[0].group_wait_seconds, 5);
});

Deno.test("matches() reads =, !=, anchored =~ and !~, and treats a missing label as empty", () => {
  const table: [string, Labels, boolean][] = [
    ["severity=CRITICAL", { severity: "CRITICAL" }, true],
    ["severity=CRITICAL", { severity: "HIGH" }, false],
    ["severity!=LOW", { severity: "HIGH" }, true],
    ["severity=~CRIT", { severity: "CRITICAL" }, false],
    ["severity=~CRIT.*", { severity: "CRITICAL" }, true],
    ["severity!~HIGH|LOW", { severity: "MEDIUM" }, true],
    ['card_id=""', {}, true],
    ['card_id="C 1"', { card_id: "C 1" }, true],
    ["card_id!=", { card_id: "C1" }, true],
  ];
  for (const [matcher, labels, expected] of table) {
    assert.equal(matches(matcher, labels), expected, `${matcher} on ${JSON.stringify(labels)}`);
  }
  assert.throws(() => parseMatcher("severity"), /Cannot parse matcher: received 'severity'/);
  assert.throws(() => parseMatcher("a=~("), /Cannot parse matcher regex/);
});

Deno.test("alertsConfig rejects a bad matcher or receiver, naming the field", () => {
  const bad = alertsConfig.schema.safeParse({
    route: { routes: [{ matchers: ["severity"], receivers: ["sms"] }] },
  });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((issue) => issue.path.join("."));
  assert.ok(paths.includes("route.routes.0.matchers.0"), paths.join());
  assert.ok(paths.includes("route.routes.0.receivers.0"), paths.join());
  const defaults = alertsConfig.schema.parse({});
  assert.deepEqual(defaults.route, DEFAULT_ROUTE);
  assert.equal(defaults.delivery.slack_min_interval_ms, 1000);
  assert.equal(defaults.delivery.pagerduty_min_interval_ms, 500);
});
