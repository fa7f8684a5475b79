import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { fingerprintFiles, MissingEtagError } from "../../src/models/fingerprint.js";
import {
  isUnderRoots,
  ManifestEntryOutsideRootsError,
  ManifestError,
  readSnapshotManifest,
  snapshotConfinement,
  writeSnapshotManifest,
} from "../../src/models/manifests.js";
import { createStorage } from "../../src/storage/create.js";
import { tempDir } from "../support/temp-dir.js";

function localStore() {
  const root = tempDir("snaplake-manifest-");
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

  it("writes uri, etag, size, n_record as String and Int64 columns, nulls and non-ASCII included", async () => {
    const { storage, root } = localStore();
    const files = [
      { uri: "s3://b/São Paulo/1.parquet", etag: "é1", size: 10, nRecord: null },
      { uri: "s3://b/中文/😀.parquet", etag: "e2", size: 2 ** 40, nRecord: 7 },
      { uri: "s3://b/plain.parquet", etag: "e3", size: 0, nRecord: 0 },
    ];
    const written = await writeSnapshotManifest(storage, `${root}m/manifest-summary.json`, files);
    const frame = pl.readParquet(await storage.get(written.dataUri));
    const types = Object.fromEntries(
      Object.entries(frame.schema).map(([name, type]) => [name, String(type)]),
    );
    expect(types).toEqual({
      uri: String(pl.String),
      etag: String(pl.String),
      size: String(pl.Int64),
      n_record: String(pl.Int64),
    });
    expect(frame.toRecords()).toEqual(
      files.map((f) => ({ uri: f.uri, etag: f.etag, size: f.size, n_record: f.nRecord })),
    );
    const read = await readSnapshotManifest(storage, `${root}m/manifest-summary.json`);
    expect(read.files).toEqual(files);
    expect(read.fingerprint).toBe(fingerprintFiles(files));
    expect(read.fingerprint).toBe(written.fingerprint);
  });

  it("gives a large unsorted list, written and read back, the fingerprint of fingerprintFiles", async () => {
    const { storage, root } = localStore();
    const count = 20_007;
    // Out of uri order, with non-ASCII characters and a repeated uri.
    const files = Array.from({ length: count }, (_, i) => ({
      uri: `s3://b/${(i * 7919) % count}/${i % 3 === 0 ? "é😀" : "plain"}`,
      etag: `etag-${i}`,
      size: i,
      nRecord: i % 5 === 0 ? null : i,
    }));
    files.push({ ...files[10]!, etag: "other" });
    const written = await writeSnapshotManifest(storage, `${root}m/manifest-summary.json`, files);
    expect(written.fingerprint).toBe(fingerprintFiles(files));
    const sorted = [...files].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    const again = await writeSnapshotManifest(storage, `${root}n/manifest-summary.json`, sorted);
    expect(again.fingerprint).toBe(written.fingerprint);
    const read = await readSnapshotManifest(storage, `${root}m/manifest-summary.json`);
    expect(read.files).toEqual(files);
    expect(read.fingerprint).toBe(written.fingerprint);
  });

  it("fingerprints the files actually in the data file, even when it changed after the summary", async () => {
    const { storage, root } = localStore();
    const summaryUri = `${root}m/manifest-summary.json`;
    const before = [{ uri: "s3://b/1", etag: "e1", size: 1, nRecord: null }];
    const written = await writeSnapshotManifest(storage, summaryUri, before);
    const after = [
      { uri: "s3://b/1", etag: "e1-changed", size: 1, n_record: null },
      { uri: "s3://b/2", etag: "e2", size: 2, n_record: null },
    ];
    const replaced = pl.DataFrame(after, {
      schema: { uri: pl.Utf8, etag: pl.Utf8, size: pl.Int64, n_record: pl.Int64 },
    });
    await storage.put(written.dataUri, replaced.writeParquet({ compression: "zstd" }));
    const read = await readSnapshotManifest(storage, summaryUri);
    expect(read.files.map((f) => f.etag)).toEqual(["e1-changed", "e2"]);
    expect(read.fingerprint).toBe(fingerprintFiles(after));
    expect(read.fingerprint).not.toBe(written.fingerprint);
  });

  it("fingerprints what reads back when a uri cannot survive UTF-8 (a lone surrogate)", async () => {
    const { storage, root } = localStore();
    // U+D800 sorts before U+E000, but reads back as U+FFFD, which sorts after it: the order changes.
    const files = [
      { uri: "s3://b/x\ud800", etag: "e1", size: 1, nRecord: 1 },
      { uri: "s3://b/x\ue000", etag: "e2", size: 1, nRecord: 1 },
    ];
    await writeSnapshotManifest(storage, `${root}m/manifest-summary.json`, files);
    const read = await readSnapshotManifest(storage, `${root}m/manifest-summary.json`);
    expect(read.files[0]!.uri).toBe("s3://b/x\ufffd");
    expect(read.fingerprint).toBe(fingerprintFiles(read.files));
    expect(read.fingerprint).not.toBe(fingerprintFiles(files));
  });

  it("keeps the halves of a surrogate pair split over two uris apart", async () => {
    const { storage, root } = localStore();
    const files = [
      { uri: "s3://b/x\ud83d", etag: "e1", size: 1, nRecord: 1 },
      { uri: "\ude00s3://b/y", etag: "e2", size: 2, nRecord: 2 },
    ];
    await writeSnapshotManifest(storage, `${root}m/manifest-summary.json`, files);
    const read = await readSnapshotManifest(storage, `${root}m/manifest-summary.json`);
    expect(read.files.map((f) => [f.uri, f.etag, f.size])).toEqual([
      ["s3://b/x\ufffd", "e1", 1],
      ["\ufffds3://b/y", "e2", 2],
    ]);
  });

  it("reads a user-written Parquet list with other numeric types and some unknown row counts", async () => {
    const { storage, root } = localStore();
    const frame = pl.DataFrame(
      {
        uri: ["s3://b/a", "s3://b/b", "s3://b/c"],
        etag: ["x", "y", "z"],
        size: [5, 6, 7],
        n_record: [1.5, null, 3],
      },
      { schema: { uri: pl.Utf8, etag: pl.Utf8, size: pl.Int32, n_record: pl.Float64 } },
    );
    await storage.put(`${root}user/data.parquet`, frame.writeParquet());
    await storage.put(
      `${root}user/summary.json`,
      JSON.stringify({ manifest: `${root}user/data.parquet`, fingerprint: "not-ours" }),
    );
    const manifest = await readSnapshotManifest(storage, `${root}user/summary.json`);
    expect(manifest.files.map((f) => [f.size, f.nRecord])).toEqual([
      [5, 1.5],
      [6, null],
      [7, 3],
    ]);
    expect(manifest.size).toBe(18);
    // The user's summary fingerprint is not ours: it is computed from the files.
    expect(manifest.fingerprint).toBe(fingerprintFiles(manifest.files));
  });

  it("names the row and the uri of a Parquet entry without a size", async () => {
    const { storage, root } = localStore();
    const frame = pl.DataFrame(
      { uri: ["s3://b/a", "s3://b/no-size"], etag: ["x", "y"], size: [5, null] },
      { schema: { uri: pl.Utf8, etag: pl.Utf8, size: pl.Int64 } },
    );
    await storage.put(`${root}user/data.parquet`, frame.writeParquet());
    await storage.put(`${root}user/summary.json`, JSON.stringify({ manifest: `${root}user/data.parquet` }));
    const error = await readSnapshotManifest(storage, `${root}user/summary.json`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as Error).message).toMatch(/row 2: s3:\/\/b\/no-size has no size/);
  });
});

describe("snapshot confinement", () => {
  it("a listed snapshot's files lie under its folder; a manifest's under its folder or bucket and allowedRoots", () => {
    expect(snapshotConfinement({ uri: "/data/snap" })).toEqual({
      roots: ["file:///data/snap/"],
      s3Only: false,
    });
    expect(
      snapshotConfinement({
        manifestUri: "/data/m/summary.json",
        allowedRoots: ["s3a://other/x", "/shared"],
      }),
    ).toEqual({ roots: ["file:///data/m/", "s3://other/x/", "file:///shared/"], s3Only: false });
    // A manifest in S3: its bucket, and S3 roots only, whatever the config lists.
    expect(
      snapshotConfinement({
        manifestUri: "s3://exports/m/summary.json",
        allowedRoots: ["/proc/", "s3://b2/p/"],
      }),
    ).toEqual({ roots: ["s3://exports/", "s3://b2/p/"], s3Only: true });
  });

  it("isUnderRoots compares whole folder names and refuses '..' segments", () => {
    const roots = ["file:///data/snap/", "s3://exports/"];
    expect(isUnderRoots("/data/snap/a.csv", roots)).toBe(true);
    expect(isUnderRoots("file:///data/snap/k=v/b.csv", roots)).toBe(true);
    expect(isUnderRoots("s3n://exports/any/key", roots)).toBe(true);
    expect(isUnderRoots("/data/snapshot-other/a.csv", roots)).toBe(false);
    expect(isUnderRoots("file:///data/snap/../../etc/passwd", roots)).toBe(false);
    expect(isUnderRoots("/data/snap/../../etc/passwd", roots)).toBe(false);
    expect(isUnderRoots("s3://exports-other/key", roots)).toBe(false);
    expect(isUnderRoots("gs://exports/key", roots)).toBe(false);
  });

  it("readSnapshotManifest refuses a data file or an entry outside the roots before reading the files", async () => {
    const { storage, root } = localStore();
    const lines = (uris: string[]) =>
      uris.map((uri) => JSON.stringify({ uri, etag: "e", size: 1 })).join("\n");
    await storage.put(`${root}m/files.ndjson`, lines([`${root}m/a.csv`, "/proc/self/environ"]));
    await storage.put(`${root}m/summary.json`, JSON.stringify({ manifest: `${root}m/files.ndjson` }));
    const source = { manifestUri: `${root}m/summary.json` };
    const error = await readSnapshotManifest(storage, source.manifestUri, snapshotConfinement(source)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ManifestEntryOutsideRootsError);
    expect(error).toMatchObject({ code: "MANIFEST_ENTRY_OUTSIDE_ROOTS", entry: "/proc/self/environ" });
    expect((error as Error).message).toContain(`${root}m/`);

    // The summary may not point its file list elsewhere either.
    await storage.put(`${root}m/summary.json`, JSON.stringify({ manifest: "/etc/hostname" }));
    await expect(
      readSnapshotManifest(storage, source.manifestUri, snapshotConfinement(source)),
    ).rejects.toMatchObject({ entry: "/etc/hostname" });
  });
});
