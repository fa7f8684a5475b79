import { describe, expect, it } from "vitest";
import { packBalanced } from "../../src/models/pack.js";
import { planSnapshotFileGroups } from "../../src/steps/step-1-1-plan-snapshot-to-staging.js";
import { planPartitionFileGroups } from "../../src/steps/step-2-1-plan-staging-to-datalake.js";

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
    // Every group within one item (≤ 1000) of the mean, and none far above the target.
    const total = items.reduce((n, f) => n + f.size, 0);
    const mean = total / Math.ceil(total / target);
    for (const load of loads) expect(Math.abs(load - mean)).toBeLessThanOrEqual(1000);
    expect(Math.max(...loads)).toBeLessThanOrEqual(target * 1.1);
  });

  it("keeps neighbours together: each group is a run of consecutive keys", () => {
    // A Snowplow archive listed in time order: 5 days × 8 files of 12–16 MB, read in ~100 MB groups.
    const items = Array.from({ length: 40 }, (_, i) => {
      const day = Math.floor(i / 8);
      return file(`s3://b/run=2024-03-0${day + 1}-${String(i % 8).padStart(2, "0")}/part-0`, 12 + (i % 5));
    });
    const groups = packBalanced(
      items,
      100,
      (f) => f.size,
      (f) => f.uri,
    );
    expect(groups.flat()).toEqual(items); // consecutive runs, in key order
    const daysPerGroup = groups.map((g) => new Set(g.map((f) => f.uri.slice(0, 21))).size);
    expect(Math.max(...daysPerGroup)).toBeLessThanOrEqual(2);
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

describe("planPartitionFileGroups (step 2.1)", () => {
  /** Files written in another layout than the lake's (e.g. before a settings change). */
  const stale = new Set<string>();
  const staged = (uri: string, partition: string, size: number, inLakeForm = true) => {
    if (!inLakeForm) stale.add(uri);
    return { uri, etag: `e-${uri}`, size, nRecord: 10, partition };
  };
  const inLakeForm = (f: { uri: string }) => !stale.has(f.uri);
  const plan = (files: ReturnType<typeof staged>[], dedupe: boolean, promotable = inLakeForm) =>
    planPartitionFileGroups(files, { groupSize: 100, targetFileSize: 100, dedupe, promotable })
      .map((g) => `${g.partition} ${g.action} ${g.files.map((f) => f.uri).join("+")}`)
      .sort();

  it("promotes a file alone in its partition or near the target, merges the small ones, splits an oversized one", () => {
    const files = [
      staged("a1", "p=a", 5),
      staged("b1", "p=b", 80),
      staged("b2", "p=b", 10),
      staged("b3", "p=b", 12),
      staged("c1", "p=c", 250), // over twice the target: rewritten into right-sized files
      staged("d1", "p=d", 90, false), // not in the lake's form: rewritten
    ];
    expect(plan(files, false)).toEqual([
      "p=a promote a1",
      "p=b merge b2+b3",
      "p=b promote b1",
      "p=c merge c1",
      "p=d merge d1",
    ]);
    // Without a way to tell files in the lake's form, nothing is promoted (as before issue 17).
    expect(
      planPartitionFileGroups(files, { groupSize: 100, dedupe: false }).every((g) => g.action === "merge"),
    ).toBe(true);
  });

  it("with de-duplication, a partition with files from several groups is one dedupe-merge; a lone file is promoted", () => {
    const files = [staged("a1", "p=a", 80), staged("a2", "p=a", 90), staged("b1", "p=b", 5)];
    expect(plan(files, true)).toEqual(["p=a dedupe-merge a1+a2", "p=b promote b1"]);
  });
});
