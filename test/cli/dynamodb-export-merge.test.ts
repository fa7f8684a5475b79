/**
 * DynamoDB incremental exports merged into a Delta table, through the `snaplake` CLI (in this process) on local
 * folders: a full export becomes the table (mode append), then two incremental exports are merged in (mode
 * merge, recordIdColumn = the key). After each merge the table, read with the test's own Delta log reader,
 * equals the source table's state the generator computed from its own values, key by key; only the files
 * holding a changed key were rewritten; a re-run of either merge, from a fresh tracker and staging folder,
 * adds no version.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import {
  type GeneratedIncrementalExport,
  generateDynamoDbExport,
  generateDynamoDbIncrementalExport,
  type NativeItem,
  type TableState,
} from "../../src/testing/dynamodb-export.js";
import { snaplake } from "../support/cli.js";
import { checkFiles, type ReplayedTable, replayLog } from "../table/delta/independent-reader.js";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** Attributes compared value by value (sparse ones null where absent). */
const SCALARS = ["version", "name", "age", "balance", "active", "nickname", "total", "quantity", "reading"];
const plain = (value: unknown) => (typeof value === "bigint" ? Number(value) : (value ?? null));

/** Every row of the table's active files, by `pk|sk`, with `kind` from the file's partition values. */
function tableRows(tableDir: string, table: ReplayedTable): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  for (const add of table.files.values()) {
    const file = join(tableDir, add.path.split("/").map(decodeURIComponent).join("/"));
    const present = pl.readParquet(file, { nRows: 0 }).columns;
    const columns = ["pk", "sk", ...SCALARS].filter((column) => present.includes(column));
    for (const row of pl.readParquet(file, { columns }).toRecords()) {
      const key = `${row.pk}|${row.sk}`;
      expect(rows.has(key), `${key} is in the table once`).toBe(false);
      rows.set(key, { ...row, kind: add.partitionValues.kind });
    }
  }
  return rows;
}

function expectTableEquals(tableDir: string, source: TableState): ReplayedTable {
  const table = replayLog(tableDir);
  expect(checkFiles(tableDir, table)).toBe(source.size);
  const names = table.schema.fields.map((field) => field.name);
  expect(names.filter((name) => name.startsWith("_snaplake"))).toEqual([]);
  const rows = tableRows(tableDir, table);
  expect([...rows.keys()].sort()).toEqual([...source.keys()].sort());
  for (const [key, item] of source) {
    const row = rows.get(key)!;
    expect(row.kind, key).toBe(item.kind);
    for (const attribute of SCALARS)
      expect(plain(row[attribute]), `${key} ${attribute}`).toBe(plain((item as NativeItem)[attribute]));
  }
  return table;
}

/** The `pk|sk` keys each active file holds, by its path. */
function keysByFile(tableDir: string, table: ReplayedTable): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const add of table.files.values()) {
    const file = join(tableDir, add.path.split("/").map(decodeURIComponent).join("/"));
    const frame = pl.readParquet(file, { columns: ["pk", "sk"] });
    keys.set(add.path, new Set(frame.toRecords().map((row) => `${row.pk}|${row.sk}`)));
  }
  return keys;
}

describe("snaplake merging DynamoDB incremental exports into a Delta table", () => {
  it("applies two incremental exports key by key, rewriting only the files holding changed keys; re-runs add no version", async () => {
    const dir = await mkdtemp(join(tmpdir(), "snaplake-ddb-merge-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const storage = createStorage({ localRoot: dir });
    const exports = `file://${dir}/exports/`;
    const tableDir = join(dir, "table");

    const full = await generateDynamoDbExport(storage, {
      baseUri: exports,
      itemCount: 2500,
      fileCount: 4,
      seed: 11,
    });
    const firstIncrement = await generateDynamoDbIncrementalExport(storage, {
      baseUri: exports,
      previous: full.table,
      exportFromTime: new Date(Date.UTC(2024, 5, 1)),
      exportToTime: new Date(Date.UTC(2024, 5, 1, 1)),
      inserts: 6,
      updates: 10,
      deletes: 5,
      seed: 12,
    });
    const secondIncrement = await generateDynamoDbIncrementalExport(storage, {
      baseUri: exports,
      previous: firstIncrement.table,
      exportFromTime: new Date(Date.UTC(2024, 5, 1, 1)),
      exportToTime: new Date(Date.UTC(2024, 5, 1, 2)),
      inserts: 4,
      updates: 8,
      deletes: 6,
      outputView: "NEW_IMAGE",
      seed: 13,
    });

    const project = (name: string, projectId: string, exportFolder: string, mode: "append" | "merge") => {
      const config = {
        projectId,
        snapshot: { dynamodbExport: exportFolder },
        reader: { format: "dynamodb-export" },
        stagingUri: `${dir}/${name}/staging/`,
        datalakeUri: tableDir,
        partitionKeys: ["kind"],
        sortBy: ["pk", "sk"],
        targetParquetFileSize: "6KB",
        table: { format: "delta", mode },
        ...(mode === "merge" ? { recordIdColumn: ["pk", "sk"] } : {}),
      };
      const path = join(dir, `${name}.config.json`);
      writeFileSync(path, JSON.stringify(config, null, 2));
      return path;
    };
    const run = async (config: string, state: string) => {
      const result = await snaplake(["run", "--config", config, "--state-dir", join(dir, state)]);
      expect(result.stderr).not.toContain('"level":50');
      expect(result.code, result.stderr).toBe(0);
    };

    await run(project("full", "ddb-full", full.folder, "append"), "state-full");
    let table = expectTableEquals(tableDir, full.table);
    expect(table.version).toBe(0);

    const merges: Array<[string, GeneratedIncrementalExport]> = [
      ["first", firstIncrement],
      ["second", secondIncrement],
    ];
    for (const [name, increment] of merges) {
      const before = table;
      const held = keysByFile(tableDir, before);
      const changed = new Set(increment.changes.map((change) => change.key));
      const holding = [...held].filter(([, keys]) => [...keys].some((key) => changed.has(key)));

      await run(project(name, `ddb-merge-${name}`, increment.folder, "merge"), `state-${name}`);
      table = expectTableEquals(tableDir, increment.table);
      expect(table.version).toBe(before.version + 1);

      const commit = table.commits[table.version]!;
      expect(commit.find((action) => action.txn)?.txn.appId).toBe(`ddb-merge-${name}`);
      expect(commit.find((action) => action.commitInfo)?.commitInfo.operation).toBe("MERGE");
      const removed = commit.filter((action) => action.remove).map((action) => action.remove);
      // Exactly the files holding a changed key were rewritten; the others were left alone.
      expect(removed.map((remove) => remove.path).sort()).toEqual(holding.map(([path]) => path).sort());
      expect(removed.every((remove) => remove.dataChange === true)).toBe(true);
      expect(holding.length).toBeGreaterThan(0);
      expect(holding.length).toBeLessThan(before.files.size / 2);
    }

    // Re-running either merge from scratch (a new tracker and staging folder, the same projectId) adds nothing.
    for (const [name, increment] of merges) {
      await run(
        project(`${name}-again`, `ddb-merge-${name}`, increment.folder, "merge"),
        `state-${name}-again`,
      );
      expect(replayLog(tableDir).version).toBe(table.version);
    }
    expectTableEquals(tableDir, secondIncrement.table);
  }, 600_000);
});
