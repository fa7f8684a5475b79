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
  const byKey = (a: T, b: T) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  const sorted = [...items].sort((a, b) => sizeOf(b) - sizeOf(a) || byKey(a, b));
  const groups: T[][] = [];
  const rest: T[] = [];
  let restSize = 0;
  for (const item of sorted) {
    if (sizeOf(item) >= target) groups.push([item]);
    else {
      rest.push(item);
      restSize += sizeOf(item);
    }
  }
  if (rest.length > 0) {
    const binCount = Math.max(1, Math.ceil(restSize / target));
    const bins = Array.from({ length: binCount }, (_, index) => ({ index, load: 0, items: [] as T[] }));
    const heap = new Heap<(typeof bins)[number]>((a, b) => a.load - b.load || a.index - b.index);
    heap.init(bins);
    for (const item of rest) {
      const bin = heap.pop()!;
      bin.items.push(item);
      bin.load += sizeOf(item);
      heap.push(bin);
    }
    for (const bin of bins) if (bin.items.length > 0) groups.push(bin.items);
  }
  for (const group of groups) group.sort(byKey);
  return groups.sort((a, b) => byKey(a[0]!, b[0]!));
}
