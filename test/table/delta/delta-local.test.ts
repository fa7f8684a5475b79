/** Delta tables on local folders: commits checked by an independent reader, races, schema, checkpoints, vacuum. */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pl from "nodejs-polars";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import {
  ConditionalPutLogStore,
  commitDeltaRewrite,
  commitToDeltaTable,
  DeltaConflictError,
  type DeltaLogStore,
  DeltaSchemaError,
  openDeltaTable,
  planOptimize,
  vacuum,
} from "../../../src/table/delta/index.js";
import { checkFiles, replayLog } from "./independent-reader.js";

let root: string;
let table: string;
let storage: Storage;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snaplake-delta-"));
  table = join(root, "orders");
  storage = createStorage({ localRoot: root });
});
afterEach(async () => rm(root, { recursive: true, force: true }));

let fileCounter = 0;
/** Writes a real Parquet file of `rows` orders into `day=<day>/` and returns its URI. */
async function writeOrders(
  day: string | null,
  rows: number,
  extra: Record<string, pl.Series> = {},
): Promise<string> {
  const folder = `day=${day ?? "__HIVE_DEFAULT_PARTITION__"}`;
  const path = join(table, folder, `part-${String(++fileCounter).padStart(5, "0")}.parquet`);
  await mkdir(dirname(path), { recursive: true });
  const frame = pl.DataFrame({
    id: pl.Series(
      "id",
      Array.from({ length: rows }, (_, i) => fileCounter * 1000 + i),
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
    ordered_at: pl
      .Series(
        "ordered_at",
        Array.from({ length: rows }, (_, i) => 1_717_200_000_000 + i * 1000),
      )
      .cast(pl.Datetime("ms", "UTC")),
    ...extra,
  });
  frame.writeParquet(path);
  return `file://${path}`;
}

const commit = (
  projectId: string,
  files: string[],
  mode: "append" | "overwrite" | "replacePartitions" = "append",
) =>
  commitToDeltaTable({
    storage,
    tableUri: table,
    projectId,
    mode,
    files,
    partitionColumns: ["day"],
    partitionTypes: { day: "date" },
  });

describe("Delta commits on a local folder", () => {
  it("appends three batches; an independent replay finds every action, field, partition and row", async () => {
    const expected: number[] = [];
    let total = 0;
    for (const [batch, days] of [
      ["batch-1", ["2024-06-01", "2024-06-02"]],
      ["batch-2", ["2024-06-02"]],
      ["batch-3", ["2024-06-03", null]],
    ] as const) {
      const files = await Promise.all(days.map((day, i) => writeOrders(day, 10 + i * 3)));
      const result = await commit(batch, files);
      total += days.reduce((sum, _, i) => sum + 10 + i * 3, 0);
      expected.push(total);
      expect(result).toMatchObject({ committed: true, filesAdded: files.length, filesRemoved: 0 });

      const replayed = replayLog(table);
      expect(replayed.version).toBe(result.version);
      expect(checkFiles(table, replayed)).toBe(total);
    }

    const replayed = replayLog(table);
    const [first, , third] = replayed.commits;
    expect(first!.find((a) => a.protocol)?.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const metaData = first!.find((a) => a.metaData)!.metaData;
    expect(metaData).toMatchObject({
      format: { provider: "parquet", options: {} },
      partitionColumns: ["day"],
      configuration: {},
    });
    expect(metaData.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(replayed.schema.fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ["id", "long", true],
      ["amount", "double", true],
      ["customer", "string", true],
      ["ordered_at", "timestamp", true],
      ["day", "date", true],
    ]);
    expect(third!.some((a) => a.protocol || a.metaData)).toBe(false); // no schema change, no metaData
    // Null partition values are JSON null; each commit names its project in txn and commitInfo.
    expect([...replayed.files.values()].some((add) => add.partitionValues.day === null)).toBe(true);
    expect(replayed.txns.get("batch-2")).toMatchObject({ appId: "batch-2", version: 1 });
    const info = third!.find((a) => a.commitInfo)!.commitInfo;
    expect(info).toMatchObject({
      operation: "WRITE",
      snaplake: { projectId: "batch-3", filesAdded: 2, rowsAdded: 23, filesRemoved: 0, rowsRemoved: 0 },
    });
    expect(typeof info.snaplake.version).toBe("string");

    const opened = await openDeltaTable(storage, table);
    expect(opened.files.reduce((sum, f) => sum + (f.rows ?? 0), 0)).toBe(total);
    expect(
      (await opened.history()).map((h) => [h.version, h.operation, h.projectId, h.rowsAdded, h.filesAdded]),
    ).toEqual([
      [0, "WRITE", "batch-1", 23, 2],
      [1, "WRITE", "batch-2", 10, 1],
      [2, "WRITE", "batch-3", 23, 2],
    ]);
  });

  it("a re-run of a committed project returns its version and writes nothing", async () => {
    const files = [await writeOrders("2024-06-01", 5)];
    const first = await commit("nightly-1", files);
    await commit("nightly-2", [await writeOrders("2024-06-02", 5)]);
    const again = await commit("nightly-1", files);
    expect(again).toMatchObject({ version: first.version, committed: false, rowsAdded: 0 });
    expect(readdirSync(join(table, "_delta_log")).filter((n) => n.endsWith(".json"))).toHaveLength(2);
  });

  it("overwrite replaces the content; time travel still reads version 0 and 1", async () => {
    await commit("night-1", [await writeOrders("2024-06-01", 4), await writeOrders("2024-06-02", 6)]);
    const night2 = [await writeOrders("2024-06-02", 7)];
    const result = await commit("night-2", night2, "overwrite");
    expect(result).toMatchObject({
      version: 1,
      filesAdded: 1,
      filesRemoved: 2,
      rowsAdded: 7,
      rowsRemoved: 10,
    });

    const latest = replayLog(table);
    expect(checkFiles(table, latest)).toBe(7);
    const removes = latest.commits[1]!.filter((a) => a.remove).map((a) => a.remove);
    expect(removes).toHaveLength(2);
    for (const remove of removes) {
      expect(remove).toMatchObject({ dataChange: true, extendedFileMetadata: true });
      expect(typeof remove.deletionTimestamp).toBe("number");
      expect(remove.partitionValues.day).toMatch(/^2024-06-0[12]$/);
    }
    const v0 = await openDeltaTable(storage, table, { version: 0 });
    expect(v0.files.map((f) => f.rows)).toEqual([4, 6]);
    expect((await openDeltaTable(storage, table)).files.map((f) => f.uri)).toEqual(night2);
    expect(checkFiles(table, replayLog(table, 0))).toBe(10);
  });

  it("replacePartitions replaces only the partitions the run writes", async () => {
    await commit("p1", [await writeOrders("2024-06-01", 4), await writeOrders("2024-06-02", 6)]);
    await commit("p2", [await writeOrders("2024-06-02", 9)], "replacePartitions");
    const replayed = replayLog(table);
    expect(
      [...replayed.files.values()].map((f) => [f.partitionValues.day, JSON.parse(f.stats).numRecords]).sort(),
    ).toEqual([
      ["2024-06-01", 4],
      ["2024-06-02", 9],
    ]);
  });

  it("a new column evolves the schema in the same commit; a type change is refused and nothing is committed", async () => {
    await commit("b1", [await writeOrders("2024-06-01", 3)]);
    await commit("b2", [
      await writeOrders("2024-06-02", 3, { coupon: pl.Series("coupon", ["a", null, "b"], pl.Utf8) }),
    ]);
    const replayed = replayLog(table);
    const evolved = replayed.commits[1]!.find((a) => a.metaData)!.metaData;
    expect(evolved.id).toBe(replayed.commits[0]!.find((a) => a.metaData)!.metaData.id);
    expect(replayed.schema.fields.map((f) => f.name)).toEqual([
      "id",
      "amount",
      "customer",
      "ordered_at",
      "day",
      "coupon",
    ]);
    expect(replayed.schema.fields.at(-1)).toEqual({
      name: "coupon",
      type: "string",
      nullable: true,
      metadata: {},
    });
    checkFiles(table, replayed);

    const bad = await writeOrders("2024-06-03", 3, { id: pl.Series("id", ["x", "y", "z"], pl.Utf8) });
    const error = await commit("b3", [bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeltaSchemaError);
    expect((error as Error).message).toContain('Column "id" is long');
    expect((error as Error).message).toContain("but string in");
    expect(readdirSync(join(table, "_delta_log")).filter((n) => n.endsWith(".json"))).toHaveLength(2);
  });

  it("a timestamp without time zone makes a timestampNtz table (reader 3, writer 7); nanoseconds are refused", async () => {
    const naive = pl.Series("shipped_at", [1_717_200_000_000_000, null], pl.Int64).cast(pl.Datetime("us"));
    await commit("ntz", [await writeOrders("2024-06-01", 2, { shipped_at: naive })]);
    const replayed = replayLog(table);
    expect(replayed.protocol).toEqual({
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ["timestampNtz"],
      writerFeatures: ["appendOnly", "invariants", "timestampNtz"],
    });
    expect(replayed.schema.fields.find((f) => f.name === "shipped_at")?.type).toBe("timestamp_ntz");
    expect((await openDeltaTable(storage, table)).files).toHaveLength(1);

    const nanos = pl.Series("delivered_at", [1n, 2n], pl.Int64).cast(pl.Datetime("ns", "UTC"));
    const error = await commit("ns", [await writeOrders("2024-06-02", 2, { delivered_at: nanos })]).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/Column "delivered_at" of .* is a nanosecond timestamp/);
    expect(replayLog(table).version).toBe(0);
  });

  it("concurrent appends through separate stores all land, each version once", async () => {
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, i) => writeOrders(`2024-06-0${(i % 3) + 1}`, 5 + i)),
    );
    const results = await Promise.all(
      batches.map((file, i) =>
        commitToDeltaTable({
          storage: createStorage({ localRoot: root }),
          tableUri: table,
          projectId: `writer-${i}`,
          mode: "append",
          files: [file],
          partitionColumns: ["day"],
        }),
      ),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const replayed = replayLog(table);
    expect(replayed.txns.size).toBe(8);
    expect(checkFiles(table, replayed)).toBe(batches.reduce((sum, _, i) => sum + 5 + i, 0));
    // Exactly one commit carries the table's protocol and first metaData.
    expect(replayed.commits.filter((c) => c.some((a) => a.protocol))).toHaveLength(1);
  });

  it("an overwrite that loses the race to an append fails naming both versions, and commits nothing", async () => {
    await commit("base", [await writeOrders("2024-06-01", 3)]);
    const appended = await writeOrders("2024-06-02", 4);
    const real = new ConditionalPutLogStore(storage);
    let raced = false;
    // Lets an append land between the overwrite's read (version 0) and its write of version 1.
    const racing: DeltaLogStore = {
      beforeList: (uri) => real.beforeList(uri),
      async writeCommit(uri, version, body) {
        if (!raced) {
          raced = true;
          await commit("racing-append", [appended]);
        }
        return real.writeCommit(uri, version, body);
      },
    };
    const overwrite = commitToDeltaTable({
      storage,
      tableUri: table,
      projectId: "snapshot",
      mode: "overwrite",
      files: [await writeOrders("2024-06-03", 5)],
      partitionColumns: ["day"],
      partitionTypes: { day: "date" },
      logStore: racing,
    });
    const error = await overwrite.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeltaConflictError);
    expect((error as Error).message).toContain("read version 0, but version 1");
    expect(replayLog(table).version).toBe(1);
    expect(replayLog(table).txns.has("snapshot")).toBe(false);
  });

  it("25 commits: checkpoints at 10 and 20 in the protocol's schema, and the reader starts from the newest", async () => {
    for (let i = 0; i < 25; i++)
      await commit(`run-${i}`, [await writeOrders(`2024-06-${String((i % 3) + 1).padStart(2, "0")}`, 2)]);
    const log = join(table, "_delta_log");
    expect(readdirSync(log).filter((n) => n.includes(".checkpoint."))).toEqual([
      "00000000000000000010.checkpoint.parquet",
      "00000000000000000020.checkpoint.parquet",
    ]);
    expect(JSON.parse(readFileSync(join(log, "_last_checkpoint"), "utf8"))).toMatchObject({
      version: 20,
      size: 44, // protocol, metaData, 21 txns, 21 adds
      numOfAddFiles: 21,
    });

    // An independent Parquet reader sees the checkpoint schema (maps as MAP, not lists of pairs).
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const checkpoint = join(log, "00000000000000000020.checkpoint.parquet");
    const types = (
      await duck.runAndReadAll(
        `select typeof(add) as a, typeof(metaData) as m, typeof(protocol) as p from read_parquet('${checkpoint}') limit 1`,
      )
    ).getRowObjectsJson()[0]!;
    expect(types.a).toContain("partitionValues MAP(VARCHAR, VARCHAR)");
    expect(types.a).toContain("size BIGINT");
    expect(types.m).toContain("partitionColumns VARCHAR[]");
    expect(types.p).toContain("minReaderVersion INTEGER");
    const counts = (
      await duck.runAndReadAll(
        `select count(add) as adds, count(txn) as txns, count(metaData) as meta, count(protocol) as proto, sum(add.size) as bytes, min(add.partitionValues['day']) as first from read_parquet('${checkpoint}')`,
      )
    ).getRowObjectsJson()[0]!;
    expect(counts).toMatchObject({ adds: "21", txns: "21", meta: "1", proto: "1", first: "2024-06-01" });

    // With the JSON commits up to 20 gone (as metadata cleanup does), only the checkpoint can give the state.
    for (let v = 0; v <= 20; v++) rmSync(join(log, `${String(v).padStart(20, "0")}.json`));
    const opened = await openDeltaTable(storage, table);
    expect(opened.version).toBe(24);
    expect(opened.files).toHaveLength(25);
    expect(opened.files.every((f) => f.rows === 2)).toBe(true);
    expect(opened.schema.fields.map((f) => f.name)).toContain("day");
    expect((await commit("run-3", [])).committed).toBe(false); // txns survive in the checkpoint
  });

  it("a re-run finds its commit before reading its files, which optimize and vacuum may have deleted", async () => {
    const file = await writeOrders("2024-06-01", 5);
    expect(await commit("run-gone", [file])).toMatchObject({ version: 0, committed: true });
    await storage.delete([file]);
    expect(await commit("run-gone", [file])).toMatchObject({ version: 0, committed: false });
  });

  it("optimize packs small files per partition in a dataChange=false rewrite; vacuum removes only unreferenced files", async () => {
    for (let i = 0; i < 10; i++)
      await commit(`small-${i}`, [await writeOrders(i % 2 ? "2024-06-01" : "2024-06-02", 20)]);
    const before = await openDeltaTable(storage, table);
    const groups = planOptimize(before, { targetFileSize: 1_000_000 });
    expect(groups.map((g) => [g.partitionValues.day, g.files.length])).toEqual([
      ["2024-06-01", 5],
      ["2024-06-02", 5],
    ]);
    const outputs: string[] = [];
    for (const group of groups) {
      const frame = pl.concat(group.files.map((f) => pl.readParquet(new URL(f.uri).pathname)));
      const path = join(
        table,
        `day=${group.partitionValues.day}`,
        `part-optimized-${group.partitionValues.day}.parquet`,
      );
      frame.writeParquet(path);
      outputs.push(`file://${path}`);
    }
    const removed = groups.flatMap((g) => g.files.map((f) => f.path));
    const rewrite = await commitDeltaRewrite({
      storage,
      tableUri: table,
      appId: "optimize-1",
      removePaths: removed,
      files: outputs,
    });
    expect(rewrite).toMatchObject({
      committed: true,
      filesAdded: 2,
      filesRemoved: 10,
      rowsAdded: 200,
      rowsRemoved: 200,
    });
    const replayed = replayLog(table);
    const actions = replayed.commits.at(-1)!;
    expect(
      actions.filter((a) => a.add || a.remove).every((a) => (a.add ?? a.remove).dataChange === false),
    ).toBe(true);
    expect(checkFiles(table, replayed)).toBe(200);

    const orphan = await writeOrders("2024-06-03", 1); // written, never committed: a run in flight
    const later = Date.now() + 60_000;
    const kept = await vacuum(storage, table, { retainMs: 3_600_000, dryRun: true, now: later });
    expect(kept.files).toEqual([]); // removed a minute ago: still inside one hour
    const listed = await vacuum(storage, table, { retainMs: 1000, dryRun: true, now: later });
    expect(listed.files.sort()).toEqual([...before.files.map((f) => f.uri), orphan].sort());
    expect(existsSync(new URL(orphan).pathname)).toBe(true); // dry run
    await vacuum(storage, table, { retainMs: 1000, dryRun: false, now: later });
    for (const file of before.files) expect(existsSync(new URL(file.uri).pathname)).toBe(false);
    expect(checkFiles(table, replayLog(table))).toBe(200);
    expect(existsSync(join(table, "_delta_log", "00000000000000000000.json"))).toBe(true);
  });
});
