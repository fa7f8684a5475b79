/**
 * packBalanced must give exactly the groups its documented rule gives: group names are fingerprints of the
 * groups' files, so any change in membership or order would rename users' existing plans. This compares it
 * with a plain, slow implementation of the rule on seeded random inputs.
 */
import { describe, expect, it } from "vitest";
import { packBalanced } from "../../src/models/pack.js";
import { seededRandom as random } from "../../src/samples/random.js";

interface Item {
  key: string;
  size: number;
}

/**
 * The rule, written the obvious way: key order, big items alone, the rest cut into ceil(rest / target)
 * runs by where each item's midpoint falls, groups in the order of their first item.
 */
function referencePack(items: readonly Item[], target: number): Item[][] {
  const entries = items.map((item, input) => ({ item, input }));
  type Entry = (typeof entries)[number];
  // Key order, ties in input order.
  const ordered = [...entries].sort((a, b) =>
    a.item.key < b.item.key ? -1 : a.item.key > b.item.key ? 1 : a.input - b.input,
  );
  const rest = ordered.filter((e) => e.item.size < target);
  let restSize = 0;
  for (const e of rest) restSize += e.item.size;
  const runs = Math.max(1, Math.ceil(restSize / target));
  const runOf = new Map<Entry, number>();
  let before = 0;
  let run = 0;
  for (const e of rest) {
    const midpoint = before + e.item.size / 2;
    const at = restSize > 0 ? Math.floor((midpoint * runs) / restSize) : 0;
    run = Math.max(run, Math.min(runs - 1, at)); // never back: runs stay contiguous
    runOf.set(e, run);
    before += e.item.size;
  }
  const groups = new Map<string, Item[]>(); // insertion order = order of first items
  for (const e of ordered) {
    const id = e.item.size < target ? `run ${runOf.get(e)}` : `alone ${e.input}`;
    const group = groups.get(id) ?? [];
    group.push(e.item);
    groups.set(id, group);
  }
  return [...groups.values()];
}

interface Shape {
  name: string;
  count: number;
  target: number;
  size: (next: () => number) => number;
  /** Keys in order, shuffled, or with duplicates. */
  keys: "sorted" | "shuffled" | "duplicates";
}

const shapes: Shape[] = [
  {
    name: "random sizes, sorted keys",
    count: 3000,
    target: 50_000,
    size: (r) => Math.floor(r() * 4000),
    keys: "sorted",
  },
  {
    name: "random sizes, shuffled keys",
    count: 3000,
    target: 50_000,
    size: (r) => Math.floor(r() * 4000),
    keys: "shuffled",
  },
  {
    name: "many ties in size",
    count: 2000,
    target: 1000,
    size: (r) => 10 * Math.floor(r() * 5),
    keys: "shuffled",
  },
  {
    name: "files at and above the target",
    count: 500,
    target: 1000,
    size: (r) => Math.floor(r() * 2500),
    keys: "shuffled",
  },
  { name: "exactly the target", count: 50, target: 100, size: () => 100, keys: "sorted" },
  {
    name: "duplicate keys",
    count: 800,
    target: 5000,
    size: (r) => Math.floor(r() * 900),
    keys: "duplicates",
  },
  { name: "fractional sizes", count: 1000, target: 777.5, size: (r) => r() * 100, keys: "shuffled" },
  { name: "zero sizes", count: 300, target: 10, size: (r) => (r() < 0.5 ? 0 : 3), keys: "shuffled" },
  {
    name: "huge sizes (beyond 2^53 / count)",
    count: 400,
    target: 2 ** 52,
    size: (r) => Math.floor(r() * 2 ** 50) * 8,
    keys: "shuffled",
  },
  {
    name: "some negative sizes (meaningless, but still deterministic)",
    count: 500,
    target: 2000,
    size: (r) => Math.floor(r() * 200) - 20,
    keys: "shuffled",
  },
  { name: "one item", count: 1, target: 10, size: () => 3, keys: "sorted" },
  { name: "one item above the target", count: 1, target: 10, size: () => 30, keys: "sorted" },
  { name: "empty", count: 0, target: 10, size: () => 1, keys: "sorted" },
];

function makeItems(shape: Shape, seed: number): Item[] {
  const next = random(seed);
  const items = Array.from({ length: shape.count }, (_, i) => ({
    key:
      shape.keys === "duplicates"
        ? `k${String(Math.floor(next() * (shape.count / 4))).padStart(5, "0")}`
        : `s3://b/part-${String(i).padStart(6, "0")}`,
    size: shape.size(next),
  }));
  if (shape.keys === "shuffled") {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
  }
  return items;
}

describe("packBalanced matches a plain implementation of its rule", () => {
  for (const shape of shapes) {
    it(shape.name, () => {
      for (const seed of [1, 2, 3]) {
        const items = makeItems(shape, seed);
        const groups = packBalanced(
          items,
          shape.target,
          (item) => item.size,
          (item) => item.key,
        );
        const expected = referencePack(items, shape.target);
        // Same groups, same order of groups and of items within them, the caller's own objects.
        expect(groups).toStrictEqual(expected);
        const expectedItems = expected.flat();
        expect(groups.flat().every((item, i) => item === expectedItems[i])).toBe(true);
      }
    });
  }
});
