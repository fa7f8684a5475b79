/**
 * Merges into a Delta table on a local folder (commitDeltaMerge): upserts and deletes by key, only the files
 * whose key range can hold a changed key read, only those holding one rewritten; a race against a commit
 * that removed a rewritten file fails with nothing committed, a race against an append lands on top of it.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pl from "nodejs-polars";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import {
  CHANGE_DELETED_COLUMN,
  CHANGE_WRITE_TIME_COLUMN,
  ConditionalPutLogStore,
  commitDeltaMerge,
  commitDeltaRewrite,
  commitToDeltaTable,
  DeltaConflictError,
  type DeltaLogStore,
} from "../../../src/table/delta/index.js";
import { checkFiles, replayLog } from "./independent-reader.js";

let root: string;
let table: string;
let storage: Storage;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snaplake-delta-merge-"));
  table = join(root, "accounts");
  storage = createStorage({ localRoot: root });
});
afterEach(async () => rm(root, { recursive: true, force: true }));

/** Writes a Parquet file of (id, balance) rows, plus change columns when given, into `region=<region>/`. */
async function writeRows(
  region: string,
  name: string,
  rows: Array<{ id: number; balance: number; written?: number; deleted?: boolean }>,
): Promise<string> {
  const path = join(table, `region=${region}`, `${name}.parquet`);
  await mkdir(dirname(path), { recursive: true });
  const columns: pl.Series[] = [
    pl.Series(
      "id",
      rows.map((r) => r.id),
      pl.Int64,
    ),
    pl.Series(
      "balance",
      rows.map((r) => r.balance),
      pl.Float64,
    ),
  ];
  if (rows.some((r) => r.written !== undefined)) {
    columns.push(
      pl.Series(
        CHANGE_WRITE_TIME_COLUMN,
        rows.map((r) => r.written ?? 0),
        pl.Int64,
      ),
      pl.Series(
        CHANGE_DELETED_COLUMN,
        rows.map((r) => r.deleted ?? false),
        pl.Bool,
      ),
    );
  }
  pl.DataFrame(columns).writeParquet(path);
  return `file://${path}`;
}

const range = (from: number, to: number, balance = 1) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, balance }));

/** The table's rows as id → balance, read from the active files the log names. */
function balances(): Map<number, number> {
  const replayed = replayLog(table);
  checkFiles(table, replayed);
  const out = new Map<number, number>();
  for (const add of replayed.files.values()) {
    for (const row of pl.readParquet(join(table, decodeURIComponent(add.path))).toRecords()) {
      expect(out.has(Number(row.id))).toBe(false);
      out.set(Number(row.id), Number(row.balance));
    }
  }
  return out;
}

/** Three files of ids 1-100, 101-200 and 201-300 (region eu), committed as version 0. */
async function baseTable(): Promise<string[]> {
  const files = [
    await writeRows("eu", "a", range(1, 100)),
    await writeRows("eu", "b", range(101, 200)),
    await writeRows("eu", "c", range(201, 300)),
  ];
  await commitToDeltaTable({
    storage,
    tableUri: table,
    projectId: "full",
    mode: "append",
    files,
    partitionColumns: ["region"],
  });
  return files;
}

const merge = (projectId: string, files: string[], logStore?: DeltaLogStore) =>
  commitDeltaMerge({
    storage,
    tableUri: table,
    projectId,
    files,
    partitionColumns: ["region"],
    keyColumns: ["id"],
    ...(logStore ? { logStore } : {}),
  });

describe("commitDeltaMerge", () => {
  it("applies the latest change per key, reading only files whose id range holds a changed id", async () => {
    await baseTable();
    const changes = await writeRows("eu", "changes", [
      { id: 150, balance: 7, written: 10 },
      { id: 150, balance: 8, written: 20 }, // the latest write wins, whatever the row order
      { id: 160, balance: 0, written: 5, deleted: true },
      { id: 160, balance: 9, written: 4 },
      { id: 301, balance: 3, written: 1 }, // a new id, beyond every file's range
    ]);
    const result = await merge("increment-1", [changes]);
    expect(result).toMatchObject({ version: 1, committed: true, keysUpserted: 2, keysDeleted: 1 });
    // 150 and 160 lie in b's range only, 301 in none: a and c are neither read nor rewritten.
    expect(result.filesRead).toBe(1);
    expect(result.filesRewritten).toBe(1);
    const commit = replayLog(table).commits[1]!;
    expect(commit.filter((a) => a.remove).map((a) => a.remove.path)).toEqual(["region=eu/b.parquet"]);

    const expected = new Map(range(1, 300).map((r) => [r.id, r.balance]));
    expected.set(150, 8);
    expected.delete(160);
    expected.set(301, 3);
    expect(balances()).toEqual(expected);

    // Re-running the merge adds no version.
    expect(await merge("increment-1", [changes])).toMatchObject({ version: 1, committed: false });
    expect(replayLog(table).version).toBe(1);
  });

  it("conflicts with a commit that removed a file it rewrites, and commits nothing", async () => {
    const [, b] = await baseTable();
    const changes = await writeRows("eu", "changes", [{ id: 120, balance: 5, written: 1 }]);
    const real = new ConditionalPutLogStore(storage);
    let raced = false;
    // An optimize rewrites b between the merge's read (version 0) and its write of version 1.
    const racing: DeltaLogStore = {
      beforeList: (uri) => real.beforeList(uri),
      async writeCommit(uri, version, body) {
        if (!raced) {
          raced = true;
          await commitDeltaRewrite({
            storage,
            tableUri: table,
            appId: "optimize",
            removePaths: ["region=eu/b.parquet"],
            files: [await writeRows("eu", "b-compacted", range(101, 200))],
          });
        }
        return real.writeCommit(uri, version, body);
      },
    };
    expect(b).toContain("b.parquet");
    const error = await merge("increment-1", [changes], racing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeltaConflictError);
    expect((error as Error).message).toContain(
      "read version 0, but version 1 (by optimize), committed meanwhile, removed region=eu/b.parquet, which this merge replaces",
    );
    expect(replayLog(table).version).toBe(1);
    expect(replayLog(table).txns.has("increment-1")).toBe(false);
  });

  it("lands on top of a concurrent append, which it does not conflict with", async () => {
    await baseTable();
    const changes = await writeRows("eu", "changes", [{ id: 50, balance: 0, written: 1, deleted: true }]);
    const appended = await writeRows("us", "d", range(401, 410));
    const real = new ConditionalPutLogStore(storage);
    let raced = false;
    const racing: DeltaLogStore = {
      beforeList: (uri) => real.beforeList(uri),
      async writeCommit(uri, version, body) {
        if (!raced) {
          raced = true;
          await commitToDeltaTable({
            storage,
            tableUri: table,
            projectId: "append",
            mode: "append",
            files: [appended],
            partitionColumns: ["region"],
          });
        }
        return real.writeCommit(uri, version, body);
      },
    };
    expect(await merge("increment-1", [changes], racing)).toMatchObject({ version: 2, committed: true });
    const rows = balances();
    expect(rows.has(50)).toBe(false);
    expect(rows.size).toBe(299 + 10);
  });
});
