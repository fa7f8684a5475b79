/**
 * Packs items into groups of about `target` total size, balanced, deterministic and in key order: an item
 * at least as large as the target is a group alone; the rest, in key order, are cut into
 * k = ceil(rest / target) runs of nearly equal size (each item goes to the run its midpoint falls in), so
 * groups end up close to each other and to the target instead of one tiny last group (dbsnaplake's
 * in-order fill).
 *
 * Contiguous runs keep neighbours together: snapshot exports and Snowplow run folders are listed in time
 * order, so a group covers a stretch of time and touches one or two date partitions, not all of them. (An
 * earlier size-balanced packing, largest first into the least-loaded group, spread every day over every
 * group: on the 500 MB benchmark archive, 25 staging files instead of 5.)
 *
 * A run is contiguous among the smaller items: it steps over a large item that stands alone between two of
 * its members (a(10), b(200), c(10) with target 100 give [a, c] and [b]). Items with equal keys keep their
 * input order, so the same input always gives the same groups; each
 * group is in key order and the groups are in the order of their first key. Planning works on a million
 * manifest entries, so this is one pass over typed arrays after the key order.
 */
export function packBalanced<T>(
  items: readonly T[],
  target: number,
  sizeOf: (item: T) => number,
  keyOf: (item: T) => string,
): T[][] {
  if (!(target > 0)) throw new RangeError(`target size must be positive, got ${target}`);
  const count = items.length;
  const sizes = new Float64Array(count);
  const keys: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const item = items[i]!;
    sizes[i] = sizeOf(item);
    keys[i] = keyOf(item);
    if (Number.isNaN(sizes[i])) throw new RangeError(`size of ${keys[i]} is not a number`);
  }
  const byKey = keyOrder(keys);

  let restSize = 0; // summed in key order, the order the runs are cut in
  for (let i = 0; i < count; i++) {
    const size = sizes[byKey[i]!]!;
    if (size < target) restSize += size;
  }
  const runCount = Math.max(1, Math.ceil(restSize / target));

  const groups: T[][] = [];
  let run = 0;
  let runGroup: T[] | undefined;
  let before = 0; // size of the smaller items met so far
  for (let i = 0; i < count; i++) {
    const item = byKey[i]!;
    const size = sizes[item]!;
    if (!(size < target)) {
      groups.push([items[item]!]);
      continue;
    }
    const at = restSize > 0 ? Math.floor(((before + size / 2) * runCount) / restSize) : 0;
    // min/max keep runs contiguous even for (meaningless) negative sizes.
    const itemRun = Math.max(run, Math.min(runCount - 1, at));
    before += size;
    if (!runGroup || itemRun !== run) {
      run = itemRun;
      runGroup = [];
      groups.push(runGroup);
    }
    runGroup.push(items[item]!);
  }
  return groups;
}

/** Item numbers in key order, equal keys in input order. Listings usually come sorted already. */
function keyOrder(keys: readonly string[]): Uint32Array {
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! <= keys[i]!;
  if (sorted) return order;
  // Array.prototype.sort is stable: equal keys keep their input order.
  const sortedOrder = Array.from(order).sort((a, b) =>
    keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0,
  );
  return Uint32Array.from(sortedOrder);
}
