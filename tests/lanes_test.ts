import assert from "node:assert/strict";
import { runInLanes } from "../src/cycle/lanes.ts";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("runInLanes() runs at most `lanes` items at once and a group's items in order", async () => {
  const items = [
    { group: "a", ms: 30 },
    { group: "b", ms: 10 },
    { group: "a", ms: 10 },
    { group: "c", ms: 10 },
    { group: "d", ms: 10 },
  ];
  let running = 0;
  let peak = 0;
  const events: string[] = [];
  await runInLanes(items, {
    lanes: 2,
    groupOf: (item) => item.group,
    async run(item, index) {
      running++;
      peak = Math.max(peak, running);
      events.push(`start ${index}`);
      await tick(item.ms);
      events.push(`end ${index}`);
      running--;
    },
  });
  assert.equal(peak, 2);
  assert.equal(events.filter((event) => event.startsWith("end")).length, 5);
  // The second item of group "a" starts only once its first has ended.
  assert.ok(events.indexOf("end 0") < events.indexOf("start 2"), events.join(", "));
});

Deno.test("runInLanes() starts nothing after a failure and rethrows it once every lane stopped", async () => {
  const started: number[] = [];
  let slowFinished = false;
  await assert.rejects(
    runInLanes([0, 1, 2, 3], {
      lanes: 2,
      groupOf: (item) => String(item),
      async run(item) {
        started.push(item);
        if (item === 0) {
          await tick(40);
          slowFinished = true;
          return;
        }
        await tick(5);
        throw new Error(`item ${item} failed`);
      },
    }),
    /item 1 failed/,
  );
  assert.deepEqual(started, [0, 1], "no lane takes new work once an item failed");
  assert.ok(slowFinished, "the failure waits for the item still running");
});

Deno.test("runInLanes() starts the costliest groups first and keeps unknown ones ahead, in order", async () => {
  const started: string[] = [];
  const costs: Record<string, number> = { light: 1, heavy: 30, medium: 10 };
  await runInLanes(["light", "new", "heavy", "medium", "other"], {
    lanes: 1,
    groupOf: (item) => item,
    costOf: (group) => costs[group],
    run(item) {
      started.push(item);
      return Promise.resolve();
    },
  });
  assert.deepEqual(started, ["new", "other", "heavy", "medium", "light"]);
});
