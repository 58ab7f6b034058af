import assert from "node:assert/strict";
import { singleFlight } from "../src/api/single_flight.ts";

Deno.test("singleFlight() shares one in-flight call among concurrent callers", async () => {
  let calls = 0;
  const gates: (() => void)[] = [];
  const shared = singleFlight(async () => {
    const call = ++calls;
    await new Promise<void>((resolve) => gates.push(resolve));
    return call;
  });
  const first = [shared(), shared(), shared()];
  gates.shift()!();
  assert.deepEqual(await Promise.all(first), [1, 1, 1]);
  const second = shared();
  gates.shift()!();
  assert.equal(await second, 2, "a call after the first settled starts afresh");
});

Deno.test("singleFlight() lets the next call retry after a failure", async () => {
  let calls = 0;
  const shared = singleFlight(() => {
    calls++;
    return calls === 1 ? Promise.reject(new Error("database down")) : Promise.resolve("up");
  });
  await assert.rejects(Promise.all([shared(), shared()]), /database down/);
  assert.equal(await shared(), "up");
  assert.equal(calls, 2);
});
