import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureGzipExpansion } from "../../src/steps/gzip-expansion.js";
import { planSnapshotFileGroups } from "../../src/steps/step-1-1-plan-snapshot-to-staging.js";
import { type BackendUnderTest, backendFactories } from "../storage/backends.js";

/** Text that compresses by a factor that depends on `repeat` (more repetition, more shrinkage). */
function text(seed: number, repeat: number): Buffer {
  const line = `${seed}\t${"event".repeat(repeat)}\t${randomBytes(40).toString("hex")}\n`;
  return Buffer.from(line.repeat(500));
}

describe.each(backendFactories)("measureGzipExpansion on $name", (factory) => {
  let backend: BackendUnderTest;
  beforeAll(async () => {
    backend = await factory.create();
  });
  afterAll(() => backend.cleanup());

  async function put(name: string, body: Buffer) {
    const uri = `${backend.base}expansion/${name}`;
    const { size } = await backend.storage.put(uri, body);
    return { uri, size };
  }

  it("is the inflated / stored ratio of the gzip files, read from their trailers; plain files don't count", async () => {
    const bodies = [text(1, 1), text(2, 5), text(3, 20)];
    const files = [];
    for (const [i, body] of bodies.entries()) files.push(await put(`part-${i}.gz`, gzipSync(body)));
    files.push(await put("part-plain.tsv", text(4, 50)));
    files.push(await put("part-3.GZIP", gzipSync(text(5, 2))));
    bodies.push(text(5, 2)); // same length as the body just written: only its length matters

    const inflated = bodies.reduce((sum, body) => sum + body.length, 0);
    const stored = files.filter((f) => !f.uri.endsWith(".tsv")).reduce((sum, f) => sum + f.size, 0);
    const ratio = await measureGzipExpansion(backend.storage, files);
    expect(ratio).toBeCloseTo(inflated / stored, 10);
    expect(ratio).toBeGreaterThan(3);
  });

  it("is 1 without gzip files, and leaves out a trailer that must have wrapped (over 4 GiB)", async () => {
    const plain = await put("only-plain.tsv", text(6, 3));
    expect(await measureGzipExpansion(backend.storage, [plain])).toBe(1);

    const real = await put("real.gz", gzipSync(text(7, 10)));
    const wrapped = randomBytes(4096);
    wrapped.writeUInt32LE(100, wrapped.length - 4); // says 100 bytes inflated for 4 KB stored
    const wrappedFile = await put("wrapped.gz", wrapped);
    const alone = await measureGzipExpansion(backend.storage, [real]);
    expect(await measureGzipExpansion(backend.storage, [real, wrappedFile])).toBe(alone);
  });
});

describe("measureGzipExpansion sampling", () => {
  let backend: BackendUnderTest;
  beforeAll(async () => {
    backend = await backendFactories.find((f) => f.name === "local")!.create();
  });
  afterAll(() => backend.cleanup());

  it("reads an evenly spread, deterministic sample of at most `sampleFiles` trailers", async () => {
    const files = [];
    for (let i = 0; i < 40; i++) {
      const uri = `${backend.base}many/part-${String(i).padStart(2, "0")}.gz`;
      // Every 4th file compresses far less, so which files are sampled shows in the ratio.
      const { size } = await backend.storage.put(uri, gzipSync(i % 4 === 0 ? randomBytes(5000) : text(i, 9)));
      files.push({ uri, size });
    }
    const first = await measureGzipExpansion(backend.storage, files, 10);
    expect(await measureGzipExpansion(backend.storage, files, 10)).toBe(first);
    // Indexes 0, 4, 8, ... are sampled with 10 of 40: the ratio is the one of exactly those files.
    const sampled = files.filter((_, i) => i % 4 === 0);
    expect(first).toBeCloseTo(await measureGzipExpansion(backend.storage, sampled, 10), 10);
    expect(await measureGzipExpansion(backend.storage, files, 40)).not.toBeCloseTo(first, 3);
  });
});

describe("planSnapshotFileGroups with a gzip expansion", () => {
  const files = [
    ...Array.from({ length: 8 }, (_, i) => ({
      uri: `s3://b/snap/part-${i}.gz`,
      etag: `e${i}`,
      size: 10,
      nRecord: null,
    })),
    ...Array.from({ length: 2 }, (_, i) => ({
      uri: `s3://b/snap/plain-${i}.csv`,
      etag: `p${i}`,
      size: 40,
      nRecord: null,
    })),
  ];

  it("weighs gzip files by their inflated size, so groups hold about the target once read", () => {
    const byStored = planSnapshotFileGroups({ files }, 100);
    expect(byStored).toHaveLength(2); // 160 stored bytes
    const byInflated = planSnapshotFileGroups({ files }, 100, { gzipExpansion: 4 });
    expect(byInflated).toHaveLength(4); // 8 × 40 + 2 × 40 = 400 bytes in memory
    const inMemory = byInflated.map((group) =>
      group.files.reduce((sum, f) => sum + (f.uri.endsWith(".gz") ? 4 * f.size : f.size), 0),
    );
    // Items of 40 can't make 100 exactly: four runs of consecutive files, 400 / 4 = 100 each by midpoints.
    expect(inMemory).toEqual([80, 120, 80, 120]);
    for (const group of byInflated) {
      expect(group.size).toBe(group.files.reduce((sum, f) => sum + f.size, 0)); // stored bytes, as listed
    }
    expect(planSnapshotFileGroups({ files }, 100, { gzipExpansion: 4 })).toEqual(byInflated);
  });
});
