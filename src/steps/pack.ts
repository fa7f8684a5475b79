/**
 * Packs items into groups of about `target` total size, balanced and deterministic:
 * an item at least as large as the target is a group alone; the rest are spread over
 * ceil(rest / target) groups by "largest first into the least-loaded group" (LPT, ties to the lowest
 * group number), so groups end up close to each other and to the target instead of one tiny last group
 * (dbsnaplake's in-order fill). Items of equal size are taken in key order (equal keys in input order),
 * so the same input always gives the same groups; each group is sorted by key and the groups by their
 * first key.
 *
 * Planning works on a million manifest entries, so everything below runs on typed arrays of item
 * numbers: no comparator closures, no objects per bin.
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
  const largestFirst = sizeOrder(sizes, byKey);
  const binOf = assignBins(largestFirst, sizes, target);

  // Walking the items in key order fills each group in key order and meets the groups in the order
  // of their first key: no sorting left to do.
  const groups: T[][] = [];
  // Each bin's position in `groups`, -1 until its first item; there are never more bins than items.
  const groupOfBin = new Int32Array(count).fill(-1);
  for (let i = 0; i < count; i++) {
    const item = byKey[i]!;
    const bin = binOf[item]!;
    if (bin < 0) groups.push([items[item]!]);
    else if (groupOfBin[bin]! < 0) {
      groupOfBin[bin] = groups.length;
      groups.push([items[item]!]);
    } else groups[groupOfBin[bin]!]!.push(items[item]!);
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

/**
 * Item numbers by size, largest first, equal sizes in key order: a stable LSD radix sort (16 bits a pass)
 * on the sizes' float64 bits, starting from key order, so ties stay in key order.
 */
function sizeOrder(sizes: Float64Array, byKey: Uint32Array): Uint32Array {
  const count = sizes.length;
  // Sort keys as two unsigned 32-bit halves whose ascending order is descending size:
  // a positive float's bits grow with it (flip all but the sign bit), a negative one's shrink (keep them).
  const floats = new Float64Array(count);
  for (let i = 0; i < count; i++) floats[i] = sizes[i] || 0; // -0 sorts as 0
  const bits = new Uint32Array(floats.buffer);
  for (let i = 0; i < count; i++) {
    const high = bits[2 * i + 1]!;
    if (high >>> 31 === 0) {
      bits[2 * i + 1] = high ^ 0x7fffffff;
      bits[2 * i] = ~bits[2 * i]! >>> 0;
    }
  }
  let order = Uint32Array.from(byKey);
  let spare = new Uint32Array(count);
  const counts = new Uint32Array(1 << 16);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass >> 1; // 0: low half, 1: high half (little-endian view)
    const shift = (pass & 1) * 16;
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[(bits[2 * i + word]! >>> shift) & 0xffff]!++;
    // A digit every item shares moves nothing: skip the pass.
    if (count === 0 || counts[(bits[word]! >>> shift) & 0xffff] === count) continue;
    let total = 0;
    for (let digit = 0; digit < counts.length; digit++) {
      const n = counts[digit]!;
      counts[digit] = total;
      total += n;
    }
    for (let i = 0; i < count; i++) {
      const item = order[i]!;
      spare[counts[(bits[2 * item + word]! >>> shift) & 0xffff]!++] = item;
    }
    [order, spare] = [spare, order];
  }
  return order;
}

/**
 * The LPT step: which bin each item goes to, -1 for an item that is a group alone. Items come largest
 * first; each goes into the least-loaded bin, the lowest-numbered among equals. The bins are a binary
 * min-heap of bin numbers by (load, bin number) in typed arrays.
 */
function assignBins(largestFirst: Uint32Array, sizes: Float64Array, target: number): Int32Array {
  const binOf = new Int32Array(sizes.length).fill(-1);
  let restSize = 0;
  for (let i = 0; i < largestFirst.length; i++) {
    const size = sizes[largestFirst[i]!]!;
    if (size < target) restSize += size;
  }
  const binCount = Math.max(1, Math.ceil(restSize / target));
  const loads = new Float64Array(binCount);
  // All loads are 0: bins in number order already form a valid heap.
  const heap = new Uint32Array(binCount);
  for (let bin = 0; bin < binCount; bin++) heap[bin] = bin;
  for (let i = 0; i < largestFirst.length; i++) {
    const item = largestFirst[i]!;
    const size = sizes[item]!;
    if (!(size < target)) continue;
    const bin = heap[0]!;
    const load = loads[bin]! + size;
    loads[bin] = load;
    binOf[item] = bin;
    // The root's load only grew: sift it down.
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= binCount) break;
      let other = heap[child]!;
      let otherLoad = loads[other]!;
      if (child + 1 < binCount) {
        const right = heap[child + 1]!;
        const rightLoad = loads[right]!;
        if (rightLoad < otherLoad || (rightLoad === otherLoad && right < other)) {
          child++;
          other = right;
          otherLoad = rightLoad;
        }
      }
      if (otherLoad > load || (otherLoad === load && other > bin)) break;
      heap[at] = other;
      at = child;
    }
    heap[at] = bin;
  }
  return binOf;
}
