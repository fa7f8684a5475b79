/**
 * Iceberg tables on local folders, checked by readers that are not ours: icebird (hyparam) opens the
 * tables (snapshots, files, rows at each snapshot) and avsc's own file decoder reads the manifests,
 * schemas and all; the metadata is checked against the spec's v2 required fields, and bounds against the
 * data's min and max, decoded from the spec's single-value serialisation here.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import avro from "avsc";
import { icebergManifests, icebergMetadata, icebergRead } from "icebird";
import pl from "nodejs-polars";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import {
  commitToIcebergTable,
  FileSystemCatalog,
  IcebergConflictError,
  IcebergSchemaError,
  openIcebergTable,
  vacuumIcebergTable,
} from "../../../src/table/iceberg/index.js";
import { installFileFetch } from "./file-fetch.js";

/** Metadata JSON and Avro records as the independent readers return them: checked field by field. */
// biome-ignore lint/suspicious/noExplicitAny: external JSON and Avro records, checked by the assertions
type Loose = any;

let root: string;
let table: string;
let storage: Storage;
let restoreFetch: () => void;

beforeAll(() => {
  restoreFetch = installFileFetch();
});
afterAll(() => restoreFetch());
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snaplake-iceberg-"));
  table = join(root, "orders");
  storage = createStorage({ localRoot: root });
});
afterEach(async () => rm(root, { recursive: true, force: true }));

const tableUrl = () => pathToFileURL(table).href;

let fileCounter = 0;
/** Writes a real Parquet file of `rows` orders into `day=<day>/` and returns its URI. */
async function writeOrders(day: string | null, rows: number, extra: Record<string, pl.Series> = {}) {
  const folder = `day=${day ?? "__HIVE_DEFAULT_PARTITION__"}`;
  const n = ++fileCounter;
  const path = join(table, folder, `part-${String(n).padStart(5, "0")}.parquet`);
  await mkdir(dirname(path), { recursive: true });
  pl.DataFrame({
    id: pl.Series(
      "id",
      Array.from({ length: rows }, (_, i) => n * 1000 + i),
      pl.Int64,
    ),
    amount: pl.Series(
      "amount",
      Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i * 1.5)),
      pl.Float64,
    ),
    customer: pl.Series(
      "customer",
      Array.from({ length: rows }, (_, i) => `c${i % 7}`),
      pl.Utf8,
    ),
    ...extra,
  }).writeParquet(path);
  return pathToFileURL(path).href;
}

const commit = (
  projectId: string,
  files: string[],
  mode: "append" | "overwrite" | "replacePartitions" = "append",
) =>
  commitToIcebergTable({
    storage,
    catalog: new FileSystemCatalog(storage, table),
    projectId,
    mode,
    files,
    partitionColumns: ["day"],
    partitionTypes: { day: "date" },
  });

/** Every record of an Avro container file, decoded by avsc's own file decoder, with its header. */
async function readAvroFile(
  uri: string,
): Promise<{ schema: Loose; meta: Record<string, string>; records: Loose[] }> {
  return new Promise((resolve, reject) => {
    const records: Loose[] = [];
    let schema: Loose;
    let meta: Record<string, string> = {};
    avro
      .createFileDecoder(fileURLToPath(uri))
      .on("metadata", (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
        schema = JSON.parse(header.meta["avro.schema"]!.toString());
        meta = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
      })
      .on("data", (record: Loose) => records.push(record))
      .on("end", () => resolve({ schema, meta, records }))
      .on("error", reject);
  });
}

describe("Iceberg commits on a local folder", () => {
  it("appends three batches; icebird sees each snapshot, its files and its rows; a re-run adds nothing", async () => {
    let total = 0;
    const counts: number[] = [];
    for (const [batch, days] of [
      ["batch-1", ["2024-06-01", "2024-06-02"]],
      ["batch-2", ["2024-06-02"]],
      ["batch-3", ["2024-06-03", null]],
    ] as const) {
      const files = await Promise.all(days.map((day, i) => writeOrders(day, 10 + i * 3)));
      const result = await commit(batch, files);
      total += days.reduce((sum, _, i) => sum + 10 + i * 3, 0);
      counts.push(total);
      expect(result).toMatchObject({ committed: true, filesAdded: files.length, filesRemoved: 0 });

      const metadata = await icebergMetadata({ tableUrl: tableUrl() });
      expect(metadata["current-snapshot-id"]).toBe(result.snapshotId);
      const rows = await icebergRead({ tableUrl: tableUrl(), metadata });
      expect(rows).toHaveLength(total);
      expect(new Set(rows.map((row) => row.id)).size).toBe(total);
    }

    // Re-running batch 2 finds its snapshot: no new metadata version, no new snapshot.
    const again = await commit("batch-2", [await writeOrders("2024-06-02", 10)]);
    expect(again.committed).toBe(false);
    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    expect(metadata.snapshots).toHaveLength(3);
    expect((await readFile(join(table, "metadata", "version-hint.text"), "utf8")).trim()).toBe("3");
    expect(metadata.snapshots!.map((s: Loose) => s.summary["snaplake.project-id"])).toEqual([
      "batch-1",
      "batch-2",
      "batch-3",
    ]);
    expect(metadata.snapshots!.map((s: Loose) => s.summary.operation)).toEqual([
      "append",
      "append",
      "append",
    ]);

    // Each metadata version is one snapshot: icebird reads the rows of every one of them.
    for (const [i, count] of counts.entries()) {
      const rows = await icebergRead({ tableUrl: tableUrl(), metadataFileName: `v${i + 1}.metadata.json` });
      expect(rows).toHaveLength(count);
    }

    // The manifests as icebird lists them: every file once, with its partition and record count.
    const manifests = await icebergManifests(metadata);
    const entries = manifests.flatMap((m: Loose) => m.entries).filter((e: Loose) => e.status !== 2);
    expect(entries).toHaveLength(5);
    expect(entries.reduce((sum: number, e: Loose) => sum + Number(e.data_file.record_count), 0)).toBe(total);
    // icebird decodes the `date` partition field (days since 1970-01-01) to a Date; a null stays null.
    const isoDay = (day: Date | null | undefined) =>
      day == null ? "__HIVE_DEFAULT_PARTITION__" : day.toISOString().slice(0, 10);
    const days = entries.map((e: Loose) => isoDay(e.data_file.partition.day));
    expect(days.sort()).toEqual([
      "2024-06-01",
      "2024-06-02",
      "2024-06-02",
      "2024-06-03",
      "__HIVE_DEFAULT_PARTITION__",
    ]);
    for (const entry of entries) {
      expect(entry.data_file.file_path).toContain(`/day=${isoDay(entry.data_file.partition.day)}/`);
    }

    const opened = await openIcebergTable(storage, new FileSystemCatalog(storage, table));
    expect(opened.files.reduce((sum, f) => sum + f.rows, 0)).toBe(total);
    expect(opened.history().map((h) => [h.operation, h.projectId, h.rowsAdded, h.filesAdded])).toEqual([
      ["append", "batch-1", 23, 2],
      ["append", "batch-2", 10, 1],
      ["append", "batch-3", 23, 2],
    ]);
  });

  it("overwrites: the latest snapshot holds the second night only; time travel reads the first", async () => {
    const first = await commit("night-1", [
      await writeOrders("2024-06-01", 12),
      await writeOrders("2024-06-02", 5),
    ]);
    const second = await commit("night-2", [await writeOrders("2024-06-02", 8)], "overwrite");
    expect(second).toMatchObject({
      committed: true,
      filesAdded: 1,
      filesRemoved: 2,
      rowsAdded: 8,
      rowsRemoved: 17,
    });

    const latest = await icebergRead({ tableUrl: tableUrl() });
    expect(latest).toHaveLength(8);
    const firstNight = await icebergRead({ tableUrl: tableUrl(), metadataFileName: "v1.metadata.json" });
    expect(firstNight).toHaveLength(17);

    const catalog = new FileSystemCatalog(storage, table);
    const travelled = await openIcebergTable(storage, catalog, { snapshotId: first.snapshotId });
    expect(travelled.files.map((f) => f.rows).sort()).toEqual([12, 5].sort());
    const now = await openIcebergTable(storage, catalog);
    expect(now.files.map((f) => f.rows)).toEqual([8]);
    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    expect(metadata.snapshots!.at(-1)!.summary).toMatchObject({
      operation: "overwrite",
      "added-data-files": "1",
      "deleted-data-files": "2",
      "added-records": "8",
      "deleted-records": "17",
      "total-records": "8",
      "snaplake.project-id": "night-2",
    });
    // The removed files are DELETED entries of the overwrite's snapshot, with explicit sequence numbers.
    const manifests = await icebergManifests(metadata);
    const deleted = manifests.flatMap((m: Loose) => m.entries).filter((e: Loose) => e.status === 2);
    expect(deleted).toHaveLength(2);
    expect(deleted.every((e: Loose) => e.snapshot_id === BigInt(second.snapshotId))).toBe(true);
  });

  it("replaces only the partitions the run writes", async () => {
    await commit("night-1", [await writeOrders("2024-06-01", 12), await writeOrders("2024-06-02", 5)]);
    const result = await commit("night-2", [await writeOrders("2024-06-02", 7)], "replacePartitions");
    expect(result).toMatchObject({ filesAdded: 1, filesRemoved: 1, rowsRemoved: 5 });
    expect(await icebergRead({ tableUrl: tableUrl() })).toHaveLength(19);
  });

  it("lands two concurrent appends; an overwrite that lost a race fails naming both snapshots", async () => {
    const [a, b] = await Promise.all([
      commit("writer-a", [await writeOrders("2024-06-01", 10)]),
      commit("writer-b", [await writeOrders("2024-06-01", 20)]),
    ]);
    expect(a.committed && b.committed).toBe(true);
    expect(new Set([a.sequenceNumber, b.sequenceNumber])).toEqual(new Set([1, 2]));
    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    expect(metadata.snapshots).toHaveLength(2);
    expect(await icebergRead({ tableUrl: tableUrl() })).toHaveLength(30);
    // Only the two winning manifest lists remain: a lost attempt's files are deleted.
    const lists = (await readdir(join(table, "metadata"))).filter((n) => n.startsWith("snap-"));
    expect(lists).toHaveLength(2);

    // An overwrite that read the table before another commit landed must not drop that commit's rows.
    const files = [await writeOrders("2024-06-02", 3)];
    const racing = commitToIcebergTable({
      storage,
      catalog: new (class extends FileSystemCatalog {
        private raced = false;
        override async commit(base: Loose, next: Loose) {
          if (!this.raced) {
            this.raced = true;
            await commit("writer-c", [await writeOrders("2024-06-03", 4)]);
          }
          return super.commit(base, next);
        }
      })(storage, table),
      projectId: "overwriter",
      mode: "overwrite",
      files,
      partitionColumns: ["day"],
      partitionTypes: { day: "date" },
    });
    await expect(racing).rejects.toThrow(IcebergConflictError);
    await expect(racing).rejects.toThrow(/changed the table this overwrite replaces/);
    expect(await icebergRead({ tableUrl: tableUrl() })).toHaveLength(34);
  });

  it("adds a later column with a new id; a changed type is refused and nothing is committed", async () => {
    await commit("batch-1", [await writeOrders("2024-06-01", 5)]);
    await commit("batch-2", [
      await writeOrders("2024-06-02", 5, {
        channel: pl.Series("channel", ["web", "app", null, "web", "app"]),
      }),
    ]);
    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    expect(metadata.schemas).toHaveLength(2);
    const current = metadata.schemas.find((s: Loose) => s["schema-id"] === metadata["current-schema-id"])!;
    expect(current.fields.map((f: Loose) => [f.id, f.name])).toEqual([
      [1, "id"],
      [2, "amount"],
      [3, "customer"],
      [4, "day"],
      [5, "channel"],
    ]);
    expect(metadata["last-column-id"]).toBe(5);
    const mapping = JSON.parse(metadata.properties!["schema.name-mapping.default"]!);
    expect(mapping).toContainEqual({ "field-id": 5, names: ["channel"] });

    const bad = await writeOrders("2024-06-03", 3, { customer: pl.Series("customer", [1, 2, 3], pl.Int64) });
    await expect(commit("batch-3", [bad])).rejects.toThrow(IcebergSchemaError);
    await expect(commit("batch-3", [bad])).rejects.toThrow(/"customer" is string .* but long/);
    expect((await icebergMetadata({ tableUrl: tableUrl() })).snapshots).toHaveLength(2);
  });
});

describe("Iceberg metadata growth: the metadata log and manifest merging", () => {
  it("keeps previous-versions-max metadata files, merges manifests at min-count-to-merge; every listed snapshot still reads back", async () => {
    await commit("batch-1", [await writeOrders("2024-06-01", 3)]);
    const catalog = new FileSystemCatalog(storage, table);
    const created = (await catalog.load())!;
    expect(created.metadata.properties["write.metadata.delete-after-commit.enabled"]).toBe("true");
    // Smaller limits than the defaults (100 and 100), set as another engine's ALTER TABLE would: a
    // metadata version that changes the properties only.
    const properties = {
      ...created.metadata.properties,
      "write.metadata.previous-versions-max": "2",
      "commit.manifest.min-count-to-merge": "3",
    };
    const log = [
      { "timestamp-ms": created.metadata["last-updated-ms"], "metadata-file": created.metadataLocation },
    ];
    expect(await catalog.commit(created, { ...created.metadata, properties, "metadata-log": log })).toBe(
      `${tableUrl()}/metadata/v2.metadata.json`,
    );

    const rowsAt = new Map<number, number>();
    let total = 3;
    rowsAt.set(Number((await icebergMetadata({ tableUrl: tableUrl() }))["current-snapshot-id"]), total);
    for (let i = 2; i <= 6; i++) {
      const result = await commit(`batch-${i}`, [await writeOrders(`2024-06-0${i}`, i)]);
      total += i;
      rowsAt.set(result.snapshotId, total);
    }

    // v7 is current; its log names the two before it; older metadata files are deleted.
    const names = await readdir(join(table, "metadata"));
    expect(names.filter((n) => n.endsWith(".metadata.json")).sort()).toEqual([
      "v5.metadata.json",
      "v6.metadata.json",
      "v7.metadata.json",
    ]);
    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    expect(metadata["metadata-log"]!.map((e: Loose) => e["metadata-file"].split("/").pop())).toEqual([
      "v5.metadata.json",
      "v6.metadata.json",
    ]);

    // Six appends would list six manifests unmerged. Merged whenever a list reached three: at v4 (its own,
    // v3's and v1's into one) and at v6 (its own, v5's and v4's merged one), so v7 lists its own and v6's:
    // v6's file ADDED (by v6, inherited from the list entry), the four before it EXISTING.
    const current = metadata.snapshots!.find(
      (s: Loose) => s["snapshot-id"] === metadata["current-snapshot-id"],
    );
    const list = await readAvroFile(current!["manifest-list"]);
    expect(list.records).toHaveLength(2);
    const mergedManifest = await readAvroFile(list.records[1].manifest_path);
    expect(mergedManifest.records.map((e: Loose) => e.status)).toEqual([1, 0, 0, 0, 0]);
    expect(mergedManifest.records[0].snapshot_id).toBeNull();
    expect(list.records[1]).toMatchObject({ added_files_count: 1, existing_files_count: 4 });

    // Every snapshot the metadata lists reads back with icebird, at its own row count.
    expect(metadata.snapshots).toHaveLength(6);
    for (const snapshot of metadata.snapshots!) {
      const id = snapshot["snapshot-id"];
      const rows = await icebergRead({
        tableUrl: tableUrl(),
        metadata: { ...metadata, "current-snapshot-id": id },
      });
      expect(rows, `snapshot ${id}`).toHaveLength(rowsAt.get(Number(id))!);
      expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    }

    // A hint naming a deleted version (the folder is listed) or a lagging one (stepped on from) still
    // finds v7, and the next commit is v8.
    for (const hint of ["1", "5"]) {
      await writeFile(join(table, "metadata", "version-hint.text"), hint);
      expect(await catalog.latestVersion()).toBe(7);
    }
    await commit("batch-7", [await writeOrders("2024-06-07", 1)]);
    expect((await catalog.load())!.metadataLocation).toBe(`${tableUrl()}/metadata/v8.metadata.json`);
    expect(await readdir(join(table, "metadata"))).not.toContain("v5.metadata.json");

    // A metadata file a commit failed to delete is vacuum's to delete; those in the log are kept.
    // Written a minute ago: with retainMs 0, a file stamped in the same millisecond as vacuum's "now" (or a
    // tick after, by the file system's clock) would count as too recent to delete.
    const leftover = join(table, "metadata", "v3.metadata.json");
    await writeFile(leftover, "{}");
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(leftover, aMinuteAgo, aMinuteAgo);
    const vacuum = await vacuumIcebergTable(storage, catalog, { retainMs: 0, dryRun: true });
    expect(vacuum.files.filter((uri) => uri.endsWith(".metadata.json"))).toEqual([
      `${tableUrl()}/metadata/v3.metadata.json`,
    ]);
  });
});

describe("Iceberg metadata against the spec (format version 2)", () => {
  it("writes every field the spec requires for v2 in metadata, manifest lists and manifests", async () => {
    await commit("batch-1", [await writeOrders("2024-06-01", 4), await writeOrders(null, 3)]);
    await commit("batch-2", [await writeOrders("2024-06-02", 6)], "overwrite");
    const text = await readFile(join(table, "metadata", "v2.metadata.json"), "utf8");
    const metadata = JSON.parse(text);

    // "Table Metadata Fields", the v2 column: required.
    for (const field of [
      "format-version",
      "table-uuid",
      "location",
      "last-sequence-number",
      "last-updated-ms",
      "last-column-id",
      "schemas",
      "current-schema-id",
      "partition-specs",
      "default-spec-id",
      "last-partition-id",
      "sort-orders",
      "default-sort-order-id",
    ]) {
      expect(metadata, field).toHaveProperty([field]);
    }
    expect(metadata["format-version"]).toBe(2);
    expect(metadata.location).toBe(tableUrl());
    // "current-snapshot-id ... must be the same as the current ID of the main branch in refs".
    expect(metadata.refs.main).toEqual({ "snapshot-id": metadata["current-snapshot-id"], type: "branch" });
    expect(metadata["last-sequence-number"]).toBe(2);
    // "Each time a new metadata file is created, a new entry of the previous metadata file location".
    expect(metadata["metadata-log"].map((e: Loose) => e["metadata-file"])).toEqual([
      `${tableUrl()}/metadata/v1.metadata.json`,
    ]);
    expect(metadata["partition-specs"]).toEqual([
      { "spec-id": 0, fields: [{ "source-id": 4, "field-id": 1000, name: "day", transform: "identity" }] },
    ]);
    expect(metadata["last-partition-id"]).toBe(1000);
    expect(metadata.properties["schema.name-mapping.default"]).toBeTypeOf("string");

    // "Snapshots", v2: snapshot-id, sequence-number, timestamp-ms, manifest-list, summary with operation.
    for (const snapshot of metadata.snapshots) {
      for (const field of ["snapshot-id", "sequence-number", "timestamp-ms", "manifest-list", "summary"]) {
        expect(snapshot, field).toHaveProperty([field]);
      }
      expect(snapshot.summary.operation).toMatch(/^(append|replace|overwrite|delete)$/);
      expect(snapshot).not.toHaveProperty("manifests"); // "Must be omitted if manifest-list is present"
    }
    expect(metadata.snapshots[1]["parent-snapshot-id"]).toBe(metadata.snapshots[0]["snapshot-id"]);

    // "Manifest Lists", v2 required fields, ids as the spec gives them.
    const list = await readAvroFile(metadata.snapshots[1]["manifest-list"]);
    const listIds = Object.fromEntries(list.schema.fields.map((f: Loose) => [f.name, f["field-id"]]));
    expect(listIds).toMatchObject({
      manifest_path: 500,
      manifest_length: 501,
      partition_spec_id: 502,
      content: 517,
      sequence_number: 515,
      min_sequence_number: 516,
      added_snapshot_id: 503,
      added_files_count: 504,
      existing_files_count: 505,
      deleted_files_count: 506,
      added_rows_count: 512,
      existing_rows_count: 513,
      deleted_rows_count: 514,
      partitions: 507,
    });
    const required = Object.keys(listIds).filter((name) => name !== "partitions" && name !== "key_metadata");
    for (const record of list.records) {
      for (const name of required) expect(record[name], name).not.toBeNull();
      expect(record.sequence_number).toBe(2);
    }

    // "Manifests": required key-value metadata, and the manifest_entry / data_file field ids.
    const manifest = await readAvroFile(list.records[0].manifest_path);
    expect(manifest.meta).toMatchObject({
      "schema-id": "0",
      "partition-spec-id": "0",
      "format-version": "2",
      content: "data",
    });
    expect(JSON.parse(manifest.meta.schema!).fields.map((f: Loose) => f.id)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(manifest.meta["partition-spec"]!)).toEqual(metadata["partition-specs"][0].fields);
    const entryIds = Object.fromEntries(manifest.schema.fields.map((f: Loose) => [f.name, f["field-id"]]));
    expect(entryIds).toEqual({
      status: 0,
      snapshot_id: 1,
      sequence_number: 3,
      file_sequence_number: 4,
      data_file: 2,
    });
    const dataFile = manifest.schema.fields.find((f: Loose) => f.name === "data_file").type;
    const fileIds = Object.fromEntries(dataFile.fields.map((f: Loose) => [f.name, f["field-id"]]));
    expect(fileIds).toMatchObject({
      content: 134,
      file_path: 100,
      file_format: 101,
      partition: 102,
      record_count: 103,
      file_size_in_bytes: 104,
      column_sizes: 108,
      value_counts: 109,
      null_value_counts: 110,
      lower_bounds: 125,
      upper_bounds: 128,
    });
    expect(fileIds).not.toHaveProperty("block_size_in_bytes"); // "Do not write in v2"
    const partition = dataFile.fields.find((f: Loose) => f.name === "partition").type;
    expect(partition.fields).toEqual([
      { name: "day", type: ["null", { type: "int", logicalType: "date" }], default: null, "field-id": 1000 },
    ]);
    const lower = dataFile.fields.find((f: Loose) => f.name === "lower_bounds").type[1];
    expect(lower).toMatchObject({ type: "array", logicalType: "map" });
    expect(lower.items.name).toBe("k126_v127");
    expect(lower.items.fields.map((f: Loose) => f["field-id"])).toEqual([126, 127]);

    for (const entry of manifest.records) {
      expect(entry.data_file.content).toBe(0);
      expect(entry.data_file.file_format).toBe("PARQUET");
      // "If the entry status is 0 (existing) or 2 (deleted), the entry must include both sequence numbers".
      if (entry.status !== 1) {
        expect(entry.sequence_number).not.toBeNull();
        expect(entry.file_sequence_number).not.toBeNull();
      }
    }
  });
});

describe("Iceberg bounds from the Parquet footers", () => {
  it("are the min and max of the data for string, long, double, timestamp and boolean columns", async () => {
    const path = join(table, "day=2024-06-01", "part-bounds.parquet");
    await mkdir(dirname(path), { recursive: true });
    const names = ["pear", "apple", null, "zebra", "Émile", "mango"];
    const longs = [5, -3, 4_000_000_000_123, 0, null, 42];
    const doubles = [2.5, -0.75, null, 1e10, 3.25, -12.5];
    const micros = [
      1_717_200_000_123_456,
      1_717_100_000_000_001,
      null,
      1_717_300_000_999_999,
      1_717_250_000_000_000,
      1_717_150_000_000_000,
    ];
    const flags = [false, false, null, false, true, false];
    pl.DataFrame({
      name: pl.Series("name", names, pl.Utf8),
      n: pl.Series("n", longs, pl.Int64),
      x: pl.Series("x", doubles, pl.Float64),
      at: pl.Series("at", micros, pl.Int64).cast(pl.Datetime("us", "UTC")),
      flag: pl.Series("flag", flags, pl.Bool),
    }).writeParquet(path);
    await commit("bounds", [pathToFileURL(path).href]);

    const metadata = await icebergMetadata({ tableUrl: tableUrl() });
    const schema = metadata.schemas[0]!;
    const id = (name: string) => schema.fields.find((f: Loose) => f.name === name)!.id;
    expect(schema.fields.map((f: Loose) => [f.name, f.type])).toEqual([
      ["name", "string"],
      ["n", "long"],
      ["x", "double"],
      ["at", "timestamptz"],
      ["flag", "boolean"],
      ["day", "date"],
    ]);
    const list = await readAvroFile(metadata.snapshots![0]!["manifest-list"]);
    const [entry] = (await readAvroFile(list.records[0].manifest_path)).records;
    const bound = (which: "lower_bounds" | "upper_bounds", name: string): Buffer =>
      entry.data_file[which].find((kv: Loose) => kv.key === id(name)).value;

    // Appendix D: strings as UTF-8 bytes; long and timestamp 8 bytes little-endian; double IEEE 754
    // little-endian; boolean one byte.
    const present = <T>(values: (T | null)[]) => values.filter((v): v is T => v !== null);
    const utf8Sorted = present(names).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(bound("lower_bounds", "name").toString("utf8")).toBe(utf8Sorted[0]);
    expect(bound("upper_bounds", "name").toString("utf8")).toBe(utf8Sorted.at(-1));
    expect(bound("lower_bounds", "n").readBigInt64LE()).toBe(BigInt(Math.min(...present(longs))));
    expect(bound("upper_bounds", "n").readBigInt64LE()).toBe(BigInt(Math.max(...present(longs))));
    expect(bound("lower_bounds", "x").readDoubleLE()).toBe(Math.min(...present(doubles)));
    expect(bound("upper_bounds", "x").readDoubleLE()).toBe(Math.max(...present(doubles)));
    // Microseconds, exactly: a millisecond bound would differ in the last three digits.
    expect(bound("lower_bounds", "at").readBigInt64LE()).toBe(BigInt(Math.min(...present(micros))));
    expect(bound("upper_bounds", "at").readBigInt64LE()).toBe(BigInt(Math.max(...present(micros))));
    expect([...bound("lower_bounds", "flag")]).toEqual([0]);
    expect([...bound("upper_bounds", "flag")]).toEqual([1]);
    for (const name of ["name", "n", "x", "at", "flag"]) {
      expect(entry.data_file.null_value_counts.find((kv: Loose) => kv.key === id(name)).value).toBe(1);
      expect(entry.data_file.value_counts.find((kv: Loose) => kv.key === id(name)).value).toBe(6);
    }
    expect(entry.data_file.record_count).toBe(6);
  });
});
