import type { ChannelName, RouteConfig } from "../alert_config.ts";
import type { LabelName, Labels } from "../labels.ts";
import { matchesAll } from "../matchers.ts";

/** The settings of the route an alert ended on, after inheritance. */
export interface RouteMatch {
  /** Position in the tree ("0", "0.2"), part of the group key. */
  path: string;
  receivers: ChannelName[];
  group_by: LabelName[];
  group_wait_seconds: number;
  group_interval_seconds: number;
  repeat_interval_seconds: number;
}

type Inherited = Omit<RouteMatch, "path">;

/** What a root that sets nothing inherits: Alertmanager's defaults, no receivers. */
const ROOT_DEFAULTS: Inherited = {
  receivers: [],
  group_by: [],
  group_wait_seconds: 30,
  group_interval_seconds: 300,
  repeat_interval_seconds: 4 * 3600,
};

function inherit(parent: Inherited, node: RouteConfig): Inherited {
  return {
    receivers: node.receivers ?? parent.receivers,
    group_by: node.group_by ?? parent.group_by,
    group_wait_seconds: node.group_wait_seconds ?? parent.group_wait_seconds,
    group_interval_seconds: node.group_interval_seconds ?? parent.group_interval_seconds,
    repeat_interval_seconds: node.repeat_interval_seconds ?? parent.repeat_interval_seconds,
  };
}

function walk(node: RouteConfig, labels: Labels, parent: Inherited, path: string): RouteMatch[] {
  const settings = inherit(parent, node);
  const found: RouteMatch[] = [];
  for (const [index, child] of (node.routes ?? []).entries()) {
    if (!matchesAll(child.matchers ?? [], labels)) continue;
    found.push(...walk(child, labels, settings, `${path}.${index}`));
    if (!child.continue) break;
  }
  return found.length > 0 ? found : [{ path, ...settings }];
}

/**
 * Routes one alert through the tree as Alertmanager does: the root always
 * matches; children are tried in order, each inheriting unset settings from its
 * parent; the first matching child wins unless it sets `continue`, in which case
 * later siblings are tried too; a node none of whose children match is itself the
 * match. A match with no receivers means "notify nobody".
 *
 * @example
 * ```ts
 * const [match] = resolveRoutes(DEFAULT_ROUTE, { severity: "HIGH" });
 * // match.receivers -> ["webhook", "email"], then the HIGH route's ["slack"]
 * ```
 */
export function resolveRoutes(root: RouteConfig, labels: Labels): RouteMatch[] {
  return walk(root, labels, ROOT_DEFAULTS, "0");
}

/** Every channel the tree sends `labels` to, in route order without repeats. */
export function receiversFor(root: RouteConfig, labels: Labels): ChannelName[] {
  return [...new Set(resolveRoutes(root, labels).flatMap((match) => match.receivers))];
}
