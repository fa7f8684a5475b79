/**
 * A Delta log reader written in the test from PROTOCOL.md alone, importing nothing from snaplake: it lists
 * `_delta_log/`, requires contiguous versions, replays actions (latest protocol/metaData win, adds and
 * removes keyed by path, latest txn per appId) and checks each active file against the disk.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { expect } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: parsed log JSON, checked field by field by the assertions
type Json = Record<string, any>;

export interface ReplayedTable {
  version: number;
  commits: Array<Array<Json>>;
  protocol: Json;
  metaData: Json;
  schema: {
    type: string;
    fields: Array<{ name: string; type: unknown; nullable: boolean; metadata: object }>;
  };
  files: Map<string, Json>;
  txns: Map<string, Json>;
}

export function replayLog(tableDir: string, upTo?: number): ReplayedTable {
  const log = join(tableDir, "_delta_log");
  const names = readdirSync(log)
    .filter((name) => /^\d{20}\.json$/.test(name))
    .sort();
  for (const [i, name] of names.entries()) expect(name).toBe(`${String(i).padStart(20, "0")}.json`); // no version lost
  const last = upTo ?? names.length - 1;
  const table: ReplayedTable = {
    version: last,
    commits: [],
    protocol: {},
    metaData: {},
    schema: { type: "struct", fields: [] },
    files: new Map(),
    txns: new Map(),
  };
  for (const name of names.slice(0, last + 1)) {
    const lines = readFileSync(join(log, name), "utf8").split("\n").filter(Boolean);
    const actions = lines.map((line) => JSON.parse(line) as Json);
    for (const action of actions) expect(Object.keys(action)).toHaveLength(1); // one action per line
    table.commits.push(actions);
    for (const action of actions) {
      if (action.protocol) table.protocol = action.protocol;
      if (action.metaData) {
        table.metaData = action.metaData;
        table.schema = JSON.parse(action.metaData.schemaString);
      }
      if (action.txn) table.txns.set(action.txn.appId, action.txn);
      if (action.add) table.files.set(action.add.path, action.add);
      if (action.remove) table.files.delete(action.remove.path);
    }
  }
  return table;
}

/**
 * Every active file: exists at its (URI-decoded) relative path, has the logged size, lies in `k=v`
 * folders equal to its partitionValues (null as __HIVE_DEFAULT_PARTITION__), and holds numRecords rows,
 * with minValues/maxValues/nullCount matching the data. Returns the total row count.
 */
export function checkFiles(tableDir: string, table: ReplayedTable): number {
  let rows = 0;
  for (const add of table.files.values()) {
    expect(add.path.startsWith("/")).toBe(false);
    const relative = add.path.split("/").map(decodeURIComponent).join("/");
    const file = join(tableDir, relative);
    expect(existsSync(file), `${file} exists`).toBe(true);
    expect(add.size).toBe(statSync(file).size);
    expect(typeof add.modificationTime).toBe("number");
    expect(typeof add.dataChange).toBe("boolean");

    const folders: Record<string, string | null> = {};
    for (const segment of relative.split("/").slice(0, -1)) {
      const [key, value] = segment.split("=") as [string, string];
      const decoded = value.replace(/%([0-9A-F]{2})/g, (_, hex) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      );
      folders[key] = decoded === "__HIVE_DEFAULT_PARTITION__" ? null : decoded;
    }
    expect(Object.keys(add.partitionValues).sort()).toEqual([...table.metaData.partitionColumns].sort());
    // Paths are not the protocol's business: a folder holds the same value, in its own spelling for timestamps.
    const typeOf = (column: string) => table.schema.fields.find((f) => f.name === column)?.type;
    const comparable = (column: string, value: string | null | undefined) =>
      value != null && (typeOf(column) === "timestamp" || typeOf(column) === "timestamp_ntz")
        ? epochMicros(value)
        : value;
    for (const column of Object.keys(folders))
      expect(comparable(column, add.partitionValues[column]), column).toEqual(
        comparable(column, folders[column]),
      );

    const frame = pl.readParquet(file);
    const stats = JSON.parse(add.stats);
    expect(stats.numRecords).toBe(frame.height);
    for (const column of frame.columns) {
      const series = frame.getColumn(column);
      expectNullCount(series, stats.nullCount[column], column);
      if (
        ["Int64", "Int32", "Float64"].includes(series.dtype.variant) &&
        series.nullCount() < series.length
      ) {
        const [min, max] = [series.min(), series.max()].map(Number) as [number, number];
        // JSON numbers beyond 2^53 are inexact, and an inexact bound would make readers skip files wrongly.
        const exact =
          series.dtype.variant === "Float64" || (Number.isSafeInteger(min) && Number.isSafeInteger(max));
        expect(stats.minValues[column], `min of ${column}`).toBe(exact ? min : undefined);
        expect(stats.maxValues[column], `max of ${column}`).toBe(exact ? max : undefined);
      }
    }
    rows += frame.height;
  }
  return rows;
}

/**
 * A struct column's nullCount is an object of its fields' counts (PROTOCOL.md, "Per-file Statistics"); list
 * columns may have none (statistics are optional, and snaplake writes none inside arrays).
 */
function expectNullCount(series: pl.Series, count: unknown, column: string): void {
  if (series.dtype.variant === "List" && count === undefined) return;
  if (series.dtype.variant === "Struct") {
    expect(typeof count, `nullCount of ${column}`).toBe("object");
    for (const [field, inner] of Object.entries(count as Json))
      expectNullCount(series.struct.field(field), inner, `${column}.${field}`);
    return;
  }
  expect(count, `nullCount of ${column}`).toBe(series.nullCount());
}

/** `2024-02-28T13:30:15.25Z`, `2024-02-28 13:30:15.250000+00:00` or a zone-less wall time, in microseconds. */
function epochMicros(text: string): number {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  expect(match, `${text} is a timestamp`).not.toBeNull();
  const [, date, time, fraction = "", zone = "Z"] = match!;
  return Date.parse(`${date}T${time}${zone}`) * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}
