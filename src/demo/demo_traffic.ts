import type { PackTraffic } from "./pack_traffic.ts";
import { festivalTraffic } from "./festival_traffic.ts";
import { exchangeTraffic } from "./exchange_traffic.ts";
import { tradesTraffic } from "./trades_traffic.ts";

/**
 * Every pack's demo traffic, in the order the demo generates it. Adding a pack's
 * traffic is one line here (see {@linkcode PackTraffic} for the contract).
 */
export function demoTraffic(): PackTraffic[] {
  return [festivalTraffic(), exchangeTraffic(), tradesTraffic()];
}
