import { describe, expect, it } from "vitest";
import { packBalanced } from "../../src/steps/pack.js";
import { planSnapshotFileGroups } from "../../src/steps/step-1-1-plan-snapshot-to-staging.js";

const file = (uri: string, size: number) => ({ uri, etag: `e-${uri}`, size, nRecord: null });

describe("packBalanced", () => {
  it("spreads files evenly instead of leaving a tiny last group (dbsnaplake's in-order fill gives 60,70,105,30)", () => {
    const sizes = { a: 50, b: 10, c: 70, d: 5, e: 100, f: 30 };
    const groups = packBalanced(
      Object.entries(sizes),
      60,
      ([, s]) => s,
      ([k]) => k,
    );
    const loads = groups.map((g) => g.reduce((n, [, s]) => n + s, 0));
    // c and e exceed the target: alone. The other 95 bytes go into ceil(95/60)=2 groups of 50 and 45.
    expect(groups.map((g) => g.map(([k]) => k))).toEqual([["a"], ["b", "d", "f"], ["c"], ["e"]]);
    expect(loads).toEqual([50, 45, 70, 100]);
  });

  it("puts every item in exactly one group, deterministically, whatever the input order", () => {
    const items = Array.from({ length: 500 }, (_, i) => file(`s3://b/k${i}`, ((i * 7919) % 1000) + 1));
    const target = 10_000;
    const a = packBalanced(
      items,
      target,
      (f) => f.size,
      (f) => f.uri,
    );
    const b = packBalanced(
      [...items].reverse(),
      target,
      (f) => f.size,
      (f) => f.uri,
    );
    expect(b).toEqual(a);
    expect(
      a
        .flat()
        .map((f) => f.uri)
        .sort(),
    ).toEqual(items.map((f) => f.uri).sort());
    const loads = a.map((g) => g.reduce((n, f) => n + f.size, 0));
    // LPT: every group within one item of the mean, all close to the target.
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1000);
    expect(Math.max(...loads)).toBeLessThanOrEqual(target * 1.1);
  });

  it("rejects a non-positive target", () => {
    expect(() => packBalanced([1], 0, (x) => x, String)).toThrow(RangeError);
  });
});

describe("planSnapshotFileGroups", () => {
  it("names each group by the fingerprint of its files and sums sizes and known row counts", () => {
    const files = [file("s3://b/1", 40), { ...file("s3://b/2", 40), nRecord: 5 }, file("s3://b/3", 90)];
    const groups = planSnapshotFileGroups({ files }, 100);
    expect(groups).toHaveLength(2);
    const again = planSnapshotFileGroups({ files: [...files].reverse() }, 100);
    expect(again.map((g) => g.fingerprint)).toEqual(groups.map((g) => g.fingerprint));
    const small = groups.find((g) => g.files.length === 2)!;
    expect(small.size).toBe(80);
    expect(small.nRecord).toBeNull(); // one file's count unknown: the group's too
  });
});
