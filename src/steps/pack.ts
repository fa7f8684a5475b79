import { Heap } from "heap-js";

/**
 * Packs items into groups of about `target` total size, balanced and deterministic:
 * an item at least as large as the target is a group alone; the rest are spread over
 * ceil(rest / target) groups by "largest first into the least-loaded group" (LPT), so groups end up
 * close to each other and to the target instead of one tiny last group (dbsnaplake's in-order fill).
 * Ties are broken by `keyOf`, so the same input always gives the same groups, each sorted by key.
 */
export function packBalanced<T>(
  items: readonly T[],
  target: number,
  sizeOf: (item: T) => number,
  keyOf: (item: T) => string,
): T[][] {
  if (!(target > 0)) throw new RangeError(`target size must be positive, got ${target}`);
  // Sizes and key ranks are computed once, so a million items sort on numbers, not on closures and
  // string comparisons (planning 1M manifest entries spent seconds there).
  const sizes = Float64Array.from(items, sizeOf);
  const rank = keyRanks(items.map(keyOf));
  const byRank = (a: number, b: number) => rank[a]! - rank[b]!;
  const sorted = Array.from(items.keys()).sort((a, b) => sizes[b]! - sizes[a]! || byRank(a, b));
  const groups: number[][] = [];
  const rest: number[] = [];
  let restSize = 0;
  for (const item of sorted) {
    if (sizes[item]! >= target) groups.push([item]);
    else {
      rest.push(item);
      restSize += sizes[item]!;
    }
  }
  if (rest.length > 0) {
    const binCount = Math.max(1, Math.ceil(restSize / target));
    const bins = Array.from({ length: binCount }, (_, index) => ({ index, load: 0, items: [] as number[] }));
    const heap = new Heap<(typeof bins)[number]>((a, b) => a.load - b.load || a.index - b.index);
    heap.init(bins);
    for (const item of rest) {
      const bin = heap.pop()!;
      bin.items.push(item);
      bin.load += sizes[item]!;
      heap.push(bin);
    }
    for (const bin of bins) if (bin.items.length > 0) groups.push(bin.items);
  }
  for (const group of groups) group.sort(byRank);
  return groups.sort((a, b) => byRank(a[0]!, b[0]!)).map((group) => group.map((item) => items[item]!));
}

/** Each key's position in key order (ties in input order); listings usually come sorted already. */
function keyRanks(keys: readonly string[]): Int32Array {
  const rank = new Int32Array(keys.length);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! <= keys[i]!;
  if (sorted) {
    for (let i = 0; i < keys.length; i++) rank[i] = i;
    return rank;
  }
  const order = Array.from(keys.keys()).sort((a, b) =>
    keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0,
  );
  order.forEach((item, position) => {
    rank[item] = position;
  });
  return rank;
}
