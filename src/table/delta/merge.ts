/**
 * A merge (upsert and delete by key) into a Delta table, copy-on-write: a run's change rows (a DynamoDB
 * incremental export's, read into keys, image columns, a write timestamp and a deleted flag) replace the
 * table's rows of the same keys.
 *
 * - The latest change per key wins (largest write timestamp; among equal ones, the later row); a key whose
 *   latest change is a deletion is removed.
 * - Only the active files whose key range (the `add` stats' minValues/maxValues of every key column) can
 *   hold a changed key are read; those that do hold one are rewritten without its rows. A file with no
 *   usable bounds for a key column can hold any key, so it is read.
 * - The upserted rows go to new files in their run file's partition folder; one commit holds the `remove`
 *   of every rewritten file and the `add` of every new one, with a `txn` per projectId (a re-run adds no
 *   version and rewrites nothing). It conflicts with a concurrent commit that removed a file it rewrites.
 */
import { createHash } from "node:crypto";
import pl from "nodejs-polars";
import { widen } from "../../frames/harmonize.js";
import { frameToParquet } from "../../frames/parquet.js";
import type { Storage } from "../../storage/types.js";
import { baseName, parentFolder } from "../../storage/uri.js";
import type { AddAction } from "./actions.js";
import {
  alreadyCommitted,
  type CommitContext,
  type DeltaCommitResult,
  inspectDataFiles,
  runCommit,
  tableRoot,
} from "./commit.js";
import { DeltaInputError } from "./errors.js";
import { type DeltaSnapshot, listLog, loadSnapshot } from "./log.js";
import { defaultLogStore } from "./log-store.js";
import type { DeltaType } from "./schema.js";
import { fileUri } from "./table.js";

/** Change rows carry these besides the table's columns: when the change was written, and whether it deleted the key. */
export const CHANGE_WRITE_TIME_COLUMN = "_snaplake_write_micros";
export const CHANGE_DELETED_COLUMN = "_snaplake_deleted";

export interface CommitDeltaMergeInput extends Omit<CommitContext, "schema"> {
  /** The run's change files, in their partition folders under the table root. */
  files: readonly string[];
  /** The table's key: a row is replaced by the latest change with the same values in these columns. */
  keyColumns: readonly string[];
}

export interface DeltaMergeResult extends DeltaCommitResult {
  /** Keys upserted and deleted (latest changes only); 0 for a re-run. */
  keysUpserted: number;
  keysDeleted: number;
  /** Active files read because their key range could hold a changed key, and of those, the ones rewritten. */
  filesRead: number;
  filesRewritten: number;
}

const ROW = "__snaplake_merge_row";
const SOURCE = "__snaplake_merge_source";

type KeyValue = string | number | bigint | boolean | Date | null;

/** One comparable text per key tuple: the same key read from a change file and a table file is the same text. */
function keyText(values: readonly KeyValue[]): string {
  return JSON.stringify(
    values.map((v) =>
      v === null
        ? null
        : v instanceof Date
          ? v.toISOString()
          : typeof v === "bigint"
            ? v.toString()
            : String(v),
    ),
  );
}

function columnsOf(frame: pl.DataFrame, columns: readonly string[]): KeyValue[][] {
  return columns.map((column) => frame.getColumn(column).toArray() as KeyValue[]);
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** -1, 0, 1; null when a stats bound and a key value can't be ordered (the file then counts as holding it). */
function compareBound(value: KeyValue, bound: unknown): number | null {
  if (typeof value === "string" && typeof bound === "string") {
    return Math.sign(Buffer.compare(Buffer.from(value), Buffer.from(bound)));
  }
  if ((typeof value === "number" || typeof value === "bigint") && typeof bound === "number") {
    const left = Number(value);
    return left < bound ? -1 : left > bound ? 1 : 0;
  }
  return null;
}

interface ChangedKeys {
  /** keyText of every changed key. */
  texts: Set<string>;
  /** The key tuples, for range checks. */
  tuples: KeyValue[][];
}

/** True when the file's stats leave room for one of the changed keys in every key column. */
function mayHoldChangedKey(add: AddAction, keyColumns: readonly string[], changed: ChangedKeys): boolean {
  let stats: { minValues?: Record<string, unknown>; maxValues?: Record<string, unknown> };
  try {
    stats = add.stats ? JSON.parse(add.stats) : {};
  } catch {
    return true;
  }
  const bounds = keyColumns.map((column) => ({
    min: stats.minValues?.[column],
    max: stats.maxValues?.[column],
  }));
  return changed.tuples.some((tuple) =>
    tuple.every((value, i) => {
      const { min, max } = bounds[i]!;
      if (min === undefined || max === undefined) return true;
      const low = compareBound(value, min);
      const high = compareBound(value, max);
      return low === null || high === null || (low >= 0 && high <= 0);
    }),
  );
}

/** The polars dtype of a Delta primitive type, for widening upserted columns to the table's types. */
function polarsTypeOf(type: DeltaType): pl.DataType | undefined {
  switch (type) {
    case "long":
      return pl.Int64;
    case "integer":
      return pl.Int32;
    case "short":
      return pl.Int16;
    case "byte":
      return pl.Int8;
    case "double":
      return pl.Float64;
    case "float":
      return pl.Float32;
    case "string":
      return pl.Utf8;
    default:
      return undefined;
  }
}

/**
 * Upserted columns narrower than the table's (an Int64 column where the table has double: a small export
 * whose numbers all happened to be whole) are widened to it; any other difference is left for the commit's
 * schema check, which refuses it naming the column.
 */
function widenToTable(frame: pl.DataFrame, snapshot: DeltaSnapshot | null): pl.DataFrame {
  if (!snapshot) return frame;
  const types = new Map(snapshot.schema.fields.map((field) => [field.name, field.type]));
  const casts = frame.columns.flatMap((column) => {
    const type = types.get(column);
    const target = type === undefined ? undefined : polarsTypeOf(type);
    const current = frame.getColumn(column).dtype;
    if (!target || String(current) === String(target)) return [];
    const wider = widen(current, target);
    return wider && String(wider) === String(target) ? [pl.col(column).cast(target)] : [];
  });
  return casts.length === 0 ? frame : frame.withColumns(...casts);
}

/** The run's change rows, latest per key; each row knows its source file (SOURCE, an index into `files`). */
async function latestChanges(
  storage: Storage,
  files: readonly string[],
  keyColumns: readonly string[],
): Promise<pl.DataFrame> {
  const frames: pl.DataFrame[] = [];
  for (const [index, uri] of files.entries()) {
    const frame = pl.readParquet(await storage.get(uri));
    for (const column of keyColumns) {
      if (!frame.columns.includes(column)) {
        throw new DeltaInputError(
          `${uri} has no key column "${column}" (recordIdColumn); its columns: ${frame.columns.join(", ")}`,
        );
      }
      if (frame.getColumn(column).nullCount() > 0) {
        throw new DeltaInputError(
          `${uri}: key column "${column}" is null in some rows; a merge needs every key`,
        );
      }
    }
    if (frame.height > 0) frames.push(frame.withColumns(pl.lit(index).cast(pl.Int32).alias(SOURCE)));
  }
  if (frames.length === 0) return pl.DataFrame();
  const all = (frames.length === 1 ? frames[0]! : pl.concat(frames, { how: "diagonal" })).withRowIndex(ROW);
  if (all.columns.includes(CHANGE_WRITE_TIME_COLUMN)) {
    return all
      .sort([CHANGE_WRITE_TIME_COLUMN, ROW], [true, true], true)
      .unique({ subset: [...keyColumns], keep: "first", maintainOrder: true });
  }
  // Rows without a write time (not an export's changes) can't be ordered: a key may change once per run.
  const unique = all.unique({ subset: [...keyColumns], keep: "first", maintainOrder: true });
  if (unique.height !== all.height) {
    throw new DeltaInputError(
      `the run's files hold ${all.height - unique.height} key(s) of (${keyColumns.join(", ")}) more than once and no ${CHANGE_WRITE_TIME_COLUMN} column to order them by`,
    );
  }
  return unique;
}

/**
 * Merges the run's change files into the Delta table in one commit (see the module comment). A first
 * merge into a table that does not exist yet creates it with the upserted rows.
 */
export async function commitDeltaMerge(input: CommitDeltaMergeInput): Promise<DeltaMergeResult> {
  const { storage, keyColumns } = input;
  const tableUri = tableRoot(input.tableUri);
  if (keyColumns.length === 0) throw new DeltaInputError("a merge needs the table's key column(s)");
  const logStore = input.logStore ?? defaultLogStore(storage, tableUri);
  const listing = await listLog(storage, tableUri, logStore);
  const snapshot = listing.latest < 0 ? null : await loadSnapshot(storage, tableUri, { listing });
  const committed = snapshot?.txns.get(input.projectId);
  const nothing = { keysUpserted: 0, keysDeleted: 0, filesRead: 0, filesRewritten: 0 };
  if (committed) return { ...alreadyCommitted(committed.version), ...nothing };

  const changes = await latestChanges(storage, input.files, keyColumns);
  const deleted =
    changes.height > 0 && changes.columns.includes(CHANGE_DELETED_COLUMN)
      ? (changes.getColumn(CHANGE_DELETED_COLUMN).toArray() as Array<boolean | null>)
      : [];
  const changed: ChangedKeys = { texts: new Set(), tuples: [] };
  if (changes.height > 0) {
    const keys = columnsOf(changes, keyColumns);
    for (let row = 0; row < changes.height; row++) {
      const tuple = keys.map((column) => column[row]!);
      changed.tuples.push(tuple);
      changed.texts.add(keyText(tuple));
    }
  }
  const owner = digest(input.projectId);

  // The active files that can hold a changed key: read them, rewrite the ones that do.
  const candidates = snapshot
    ? [...snapshot.files.values()]
        .filter((add) => changed.tuples.length > 0 && mayHoldChangedKey(add, keyColumns, changed))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    : [];
  const removed: string[] = [];
  const written: string[] = [];
  for (const add of candidates) {
    const uri = fileUri(tableUri, add.path);
    const frame = pl.readParquet(await storage.get(uri));
    for (const column of keyColumns) {
      if (!frame.columns.includes(column)) {
        throw new DeltaInputError(
          `${uri}, a file of the table, has no key column "${column}" (recordIdColumn)`,
        );
      }
    }
    const keys = columnsOf(frame, keyColumns);
    const keep = Array.from(
      { length: frame.height },
      (_, row) => !changed.texts.has(keyText(keys.map((column) => column[row]!))),
    );
    if (keep.every(Boolean)) continue;
    removed.push(add.path);
    const kept = frame.filter(pl.Series(keep));
    if (kept.height === 0) continue;
    // Named by the merge and the file it replaces: a retried merge writes the same names.
    const target = `${parentFolder(uri)}part-merge-${owner}-${digest(add.path)}.parquet`;
    await storage.put(target, await frameToParquet(kept, { compression: "zstd" }));
    written.push(target);
  }

  // The upserted rows, by the run file they came from (so in its partition folder), without change columns.
  const upserts = changes.height > 0 ? changes.filter(pl.Series(deleted.map((d) => d !== true))) : changes;
  const data = widenToTable(
    upserts.height > 0
      ? upserts.drop(
          [CHANGE_WRITE_TIME_COLUMN, CHANGE_DELETED_COLUMN, ROW].filter((c) => upserts.columns.includes(c)),
        )
      : upserts,
    snapshot,
  );
  for (const [index, source] of input.files.entries()) {
    if (data.height === 0) break;
    const rows = data.filter(pl.col(SOURCE).eq(index)).drop(SOURCE);
    if (rows.height === 0) continue;
    const target = `${parentFolder(source)}part-merge-${owner}-${digest(baseName(source))}-upsert.parquet`;
    await storage.put(target, await frameToParquet(rows, { compression: "zstd" }));
    written.push(target);
  }

  const inspected = await inspectDataFiles(storage, tableUri, written, input.partitionColumns);
  const result = await runCommit(
    { ...input, tableUri, logStore },
    { kind: "merge", paths: new Set(removed) },
    inspected,
    { snapshot },
  );
  return {
    ...result,
    keysUpserted: upserts.height,
    keysDeleted: changes.height - upserts.height,
    filesRead: candidates.length,
    filesRewritten: removed.length,
  };
}
