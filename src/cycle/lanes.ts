/**
 * Runs `items` on at most `lanes` at once. Items of one group (same `groupOf`) run
 * one after another, in the order given, on one lane: a detector's sweep must see
 * what its incremental run of the same cycle committed. Once an item throws, no
 * lane starts another; the first error is rethrown after every lane has stopped,
 * so nothing is left running behind the caller's back.
 *
 * With `costOf` (a group's expected duration, e.g. how long it took last time),
 * the costliest groups start first: the short ones then fill the lanes that free
 * up, instead of a long group starting last and running alone. Groups without a
 * cost keep their order, ahead of those with one.
 */
export async function runInLanes<T>(
  items: readonly T[],
  options: {
    lanes: number;
    groupOf(item: T): string;
    run(item: T, index: number): Promise<void>;
    costOf?(group: string): number | undefined;
  },
): Promise<void> {
  const groups = new Map<string, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const key = options.groupOf(item);
    const group = groups.get(key) ?? [];
    group.push({ item, index });
    groups.set(key, group);
  });
  const cost = (key: string) => options.costOf?.(key) ?? Infinity;
  const queue = [...groups.entries()]
    .toSorted(([a], [b]) => cost(b) - cost(a) || 0)
    .map(([, group]) => group);
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    for (let group = queue.shift(); group && !failure; group = queue.shift()) {
      for (const { item, index } of group) {
        if (failure) return;
        try {
          await options.run(item, index);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  const count = Math.max(1, Math.min(options.lanes, queue.length));
  await Promise.all(Array.from({ length: count }, lane));
  if (failure) throw (failure as { error: unknown }).error;
}
