import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MissingEtagError } from "../../src/models/fingerprint.js";
import { readSnapshotManifest, writeSnapshotManifest } from "../../src/models/manifests.js";
import { createStorage } from "../../src/storage/create.js";

function localStore() {
  const root = mkdtempSync(join(tmpdir(), "snaplake-manifest-"));
  return { storage: createStorage({ localRoot: root }), root: `file://${root}/` };
}

describe("snapshot manifests", () => {
  it("round-trips ours: summary JSON pointing at a Parquet file list", async () => {
    const { storage, root } = localStore();
    const files = [
      { uri: "s3://b/2.parquet", etag: "e2", size: 20, nRecord: 7 },
      { uri: "s3://b/1.parquet", etag: "e1", size: 10, nRecord: 3 },
    ];
    const written = await writeSnapshotManifest(storage, `${root}m/manifest-summary.json`, files, {
      by: "test",
    });
    const read = await readSnapshotManifest(storage, `${root}m/manifest-summary.json`);
    expect(read.files).toEqual(files);
    expect(read).toMatchObject({
      size: 30,
      nRecord: 10,
      fingerprint: written.fingerprint,
      details: { by: "test" },
    });
    expect(read.dataUri).toBe(`${root}m/manifest-data.parquet`);
  });

  it("accepts a user-written s3manifesto-style manifest with an NDJSON file list", async () => {
    const { storage, root } = localStore();
    await storage.put(
      `${root}user/data.ndjson`,
      '{"uri":"s3://b/a","etag":"x","size":5}\n{"uri":"s3://b/b","etag":"y","size":6,"n_record":2}\n',
    );
    await storage.put(
      `${root}user/summary.json`,
      JSON.stringify({ manifest: `${root}user/data.ndjson`, size: 11, n_record: null, fingerprint: null }),
    );
    const manifest = await readSnapshotManifest(storage, `${root}user/summary.json`);
    expect(manifest.files.map((f) => f.uri)).toEqual(["s3://b/a", "s3://b/b"]);
    expect(manifest.size).toBe(11);
    expect(manifest.nRecord).toBeNull(); // one file's count unknown
    expect(manifest.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses a file without an etag, naming it, instead of a null fingerprint", async () => {
    const { storage, root } = localStore();
    await storage.put(
      `${root}bad/data.ndjson`,
      '{"uri":"s3://b/ok","etag":"x","size":5}\n{"uri":"s3://b/no-etag","size":6}\n',
    );
    await storage.put(`${root}bad/summary.json`, JSON.stringify({ manifest: `${root}bad/data.ndjson` }));
    const error = await readSnapshotManifest(storage, `${root}bad/summary.json`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingEtagError);
    expect((error as Error).message).toContain("s3://b/no-etag");
  });
});
