/**
 * Reading and replaying a Delta log (PROTOCOL.md, "Action Reconciliation"): list `_delta_log/`, start from
 * the newest classic checkpoint at or below the wanted version, apply the JSON commits after it in order.
 * Writes classic (V1 spec) Parquet checkpoints and `_last_checkpoint`.
 */
import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import pLimit from "p-limit";
import { ObjectNotFoundError } from "../../storage/errors.js";
import type { Storage } from "../../storage/types.js";
import { baseName, joinUri } from "../../storage/uri.js";
import {
  type AddAction,
  checkpointFileName,
  commitFileName,
  type DeltaAction,
  type MetaDataAction,
  type ProtocolAction,
  parseAction,
  parseCommit,
  type RemoveAction,
  type TxnAction,
} from "./actions.js";
import { DeltaLogError, DeltaProtocolError, DeltaTableNotFoundError } from "./errors.js";
import { type DeltaLogStore, logFolder } from "./log-store.js";
import { type DeltaStructType, parseDeltaSchema } from "./schema.js";

export interface DeltaSnapshot {
  tableUri: string;
  version: number;
  protocol: ProtocolAction;
  metadata: MetaDataAction;
  schema: DeltaStructType;
  /** Active files by their `path` as written in the log. */
  files: Map<string, AddAction>;
  /** Removed files still inside the tombstone retention, by path (for vacuum and checkpoints). */
  tombstones: Map<string, RemoveAction>;
  /** The latest `txn` per appId. */
  txns: Map<string, TxnAction>;
  /** The checkpoint this snapshot was loaded from or last written at, if any. */
  checkpointVersion: number | null;
}

export interface DeltaLogListing {
  /** Commit file URI by version. */
  commits: Map<number, string>;
  /** Versions with a classic checkpoint. */
  checkpoints: number[];
  /** Highest commit version, -1 for no commit. */
  latest: number;
}

const COMMIT_NAME = /^(\d{20})\.json$/;
const CHECKPOINT_NAME = /^(\d{20})\.checkpoint\.parquet$/;
const READ_CONCURRENCY = 16;

/** Reader features this library implements (reader version 3 tables list them). */
const READER_FEATURES = new Set(["timestampNtz"]);
/** Writer features it respects (writer version 7 tables list them); appendOnly and invariants are checked. */
export const WRITER_FEATURES = new Set(["appendOnly", "invariants", "timestampNtz"]);

export async function listLog(
  storage: Storage,
  tableUri: string,
  logStore?: DeltaLogStore,
): Promise<DeltaLogListing> {
  await logStore?.beforeList(tableUri);
  const folder = logFolder(tableUri);
  const commits = new Map<number, string>();
  const checkpoints: number[] = [];
  let latest = -1;
  for await (const object of storage.listSummaries(folder)) {
    if (object.uri.slice(folder.length).includes("/")) continue; // .tmp/, _sidecars/, ...
    const name = baseName(object.uri);
    const commit = COMMIT_NAME.exec(name);
    if (commit) {
      const version = Number(commit[1]);
      commits.set(version, object.uri);
      latest = Math.max(latest, version);
      continue;
    }
    const checkpoint = CHECKPOINT_NAME.exec(name);
    if (checkpoint) checkpoints.push(Number(checkpoint[1]));
  }
  checkpoints.sort((a, b) => a - b);
  return { commits, checkpoints, latest };
}

export async function readCommit(storage: Storage, uri: string): Promise<DeltaAction[]> {
  const text = (await storage.get(uri)).toString("utf8");
  return parseCommit(text, uri);
}

/** The table's state at `version` (default: the latest), from the newest checkpoint at or below it. */
export async function loadSnapshot(
  storage: Storage,
  tableUri: string,
  options: { version?: number; logStore?: DeltaLogStore; listing?: DeltaLogListing } = {},
): Promise<DeltaSnapshot> {
  const listing = options.listing ?? (await listLog(storage, tableUri, options.logStore));
  if (listing.latest < 0) throw new DeltaTableNotFoundError(tableUri);
  const target = options.version ?? listing.latest;
  if (!Number.isInteger(target) || target < 0 || target > listing.latest) {
    throw new DeltaTableNotFoundError(tableUri, target);
  }
  const checkpoint = listing.checkpoints.filter((version) => version <= target).at(-1);
  let state: PartialSnapshot = emptyState(tableUri);
  let from = 0;
  if (checkpoint !== undefined) {
    state = await readCheckpoint(storage, tableUri, checkpoint);
    from = checkpoint + 1;
  }
  const versions: number[] = [];
  for (let version = from; version <= target; version++) {
    if (!listing.commits.has(version)) {
      throw new DeltaLogError(
        `Delta table ${tableUri}: commit ${commitFileName(version)} is missing from ${logFolder(tableUri)}, ` +
          `and no checkpoint covers it; versions ${from}..${target} are needed to read version ${target}`,
      );
    }
    versions.push(version);
  }
  const limit = pLimit(READ_CONCURRENCY);
  const commits = await Promise.all(
    versions.map((v) => limit(() => readCommit(storage, listing.commits.get(v)!))),
  );
  for (const [i, actions] of commits.entries()) applyActions(state, actions, versions[i]!);
  return completeSnapshot(state, target);
}

type PartialSnapshot = Omit<DeltaSnapshot, "protocol" | "metadata" | "schema" | "version"> & {
  protocol?: ProtocolAction;
  metadata?: MetaDataAction;
  schema?: DeltaStructType;
  version: number;
};

function emptyState(tableUri: string): PartialSnapshot {
  return {
    tableUri,
    version: -1,
    files: new Map(),
    tombstones: new Map(),
    txns: new Map(),
    checkpointVersion: null,
  };
}

/** Applies one version's actions in place (the reconciliation rules: the latest of each key wins). */
export function applyActions(
  state: PartialSnapshot | DeltaSnapshot,
  actions: readonly DeltaAction[],
  version: number,
): void {
  for (const action of actions) {
    if ("protocol" in action) state.protocol = action.protocol;
    else if ("metaData" in action) {
      state.metadata = action.metaData;
      state.schema = parseDeltaSchema(
        action.metaData.schemaString,
        `${commitFileName(version)} of ${state.tableUri}`,
      );
    } else if ("txn" in action) state.txns.set(action.txn.appId, action.txn);
    else if ("add" in action) {
      state.files.set(action.add.path, action.add);
      state.tombstones.delete(action.add.path);
    } else if ("remove" in action) {
      state.files.delete(action.remove.path);
      state.tombstones.set(action.remove.path, action.remove);
    }
  }
  state.version = version;
}

function completeSnapshot(state: PartialSnapshot, version: number): DeltaSnapshot {
  const { protocol, metadata, schema } = state;
  if (!protocol || !metadata || !schema) {
    throw new DeltaLogError(
      `Delta table ${state.tableUri} has no ${protocol ? "metaData" : "protocol"} action up to version ${version}`,
    );
  }
  assertReadable(state.tableUri, protocol, metadata);
  return { ...state, protocol, metadata, schema, version };
}

export function assertReadable(tableUri: string, protocol: ProtocolAction, metadata: MetaDataAction): void {
  const { minReaderVersion: reader } = protocol;
  const columnMapping = metadata.configuration["delta.columnMapping.mode"];
  const mapped = columnMapping !== undefined && columnMapping !== "none";
  if (reader === 1 || (reader === 2 && !mapped)) return;
  const unknown = (protocol.readerFeatures ?? []).filter((feature) => !READER_FEATURES.has(feature));
  if (reader === 3 && !mapped && unknown.length === 0) return;
  throw new DeltaProtocolError(
    tableUri,
    `needs Delta reader version ${reader}${unknown.length ? ` with features ${unknown.join(", ")}` : ""}` +
      `${mapped ? " and column mapping" : ""}; this library reads versions 1-3 with features ${[...READER_FEATURES].join(", ")}`,
  );
}

/** Tombstones are kept in checkpoints this long: `delta.deletedFileRetentionDuration`, default 1 week. */
export function tombstoneRetentionMs(metadata: MetaDataAction): number {
  const setting = metadata.configuration["delta.deletedFileRetentionDuration"] ?? "interval 1 week";
  const match = /^interval\s+(\d+)\s+(second|minute|hour|day|week)s?$/i.exec(setting.trim());
  const unit = { second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 };
  if (!match) return unit.week;
  return Number(match[1]) * unit[match[2]!.toLowerCase() as keyof typeof unit];
}

// ---- checkpoints ----

const STRING = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" } as const;
const optional = (name: string, type: "INT64" | "INT32" | "BOOLEAN") => ({
  name,
  type,
  repetition_type: "OPTIONAL" as const,
});
const text = (name: string) => ({ name, ...STRING });
const map = (name: string) => [
  { name, repetition_type: "OPTIONAL" as const, converted_type: "MAP" as const, num_children: 1 },
  { name: "key_value", repetition_type: "REPEATED" as const, num_children: 2 },
  {
    name: "key",
    type: "BYTE_ARRAY" as const,
    converted_type: "UTF8" as const,
    repetition_type: "REQUIRED" as const,
  },
  text("value"),
];
const list = (name: string) => [
  { name, repetition_type: "OPTIONAL" as const, converted_type: "LIST" as const, num_children: 1 },
  { name: "list", repetition_type: "REPEATED" as const, num_children: 1 },
  text("element"),
];
const group = (name: string, children: number) => ({
  name,
  repetition_type: "OPTIONAL" as const,
  num_children: children,
});

/** The V1 checkpoint schema of the protocol's appendix (stats as JSON, no stats_parsed). */
const CHECKPOINT_SCHEMA = [
  { name: "schema", num_children: 5 },
  group("txn", 3),
  text("appId"),
  optional("version", "INT64"),
  optional("lastUpdated", "INT64"),
  group("add", 7),
  text("path"),
  ...map("partitionValues"),
  optional("size", "INT64"),
  optional("modificationTime", "INT64"),
  optional("dataChange", "BOOLEAN"),
  text("stats"),
  ...map("tags"),
  group("remove", 6),
  text("path"),
  optional("deletionTimestamp", "INT64"),
  optional("dataChange", "BOOLEAN"),
  optional("extendedFileMetadata", "BOOLEAN"),
  ...map("partitionValues"),
  optional("size", "INT64"),
  group("metaData", 8),
  text("id"),
  text("name"),
  text("description"),
  group("format", 2),
  text("provider"),
  ...map("options"),
  text("schemaString"),
  ...list("partitionColumns"),
  optional("createdTime", "INT64"),
  ...map("configuration"),
  group("protocol", 4),
  optional("minReaderVersion", "INT32"),
  optional("minWriterVersion", "INT32"),
  ...list("readerFeatures"),
  ...list("writerFeatures"),
];

const big = (value: number | undefined) => (value === undefined ? undefined : BigInt(value));

/**
 * Writes `<version>.checkpoint.parquet` (a classic V1 checkpoint: protocol, metaData, txns, active files,
 * unexpired tombstones; never commitInfo) and points `_last_checkpoint` at it. A classic checkpoint may be
 * rewritten by a racing writer with the same content, which the protocol allows.
 */
export async function writeCheckpoint(
  storage: Storage,
  snapshot: DeltaSnapshot,
  now = Date.now(),
): Promise<void> {
  const { protocol, metadata } = snapshot;
  const tables3 = protocol.minReaderVersion === 3;
  const tables7 = protocol.minWriterVersion === 7;
  const rows: Array<Record<string, unknown>> = [
    {
      protocol: {
        minReaderVersion: protocol.minReaderVersion,
        minWriterVersion: protocol.minWriterVersion,
        // Only reader 3 / writer 7 tables list features; otherwise the columns must be null.
        readerFeatures: tables3 ? (protocol.readerFeatures ?? []) : undefined,
        writerFeatures: tables7 ? (protocol.writerFeatures ?? []) : undefined,
      },
    },
    { metaData: { ...metadata, createdTime: big(metadata.createdTime) } },
  ];
  for (const txn of snapshot.txns.values()) {
    rows.push({ txn: { ...txn, version: big(txn.version), lastUpdated: big(txn.lastUpdated) } });
  }
  for (const add of snapshot.files.values()) {
    rows.push({ add: { ...add, size: big(add.size), modificationTime: big(add.modificationTime) } });
  }
  const expiredBefore = now - tombstoneRetentionMs(metadata);
  for (const remove of snapshot.tombstones.values()) {
    if ((remove.deletionTimestamp ?? 0) < expiredBefore) continue;
    const { stats: _stats, ...tombstone } = remove; // checkpoints keep no stats or tags for tombstones
    rows.push({
      remove: { ...tombstone, deletionTimestamp: big(remove.deletionTimestamp), size: big(remove.size) },
    });
  }
  const column = (name: string) => ({ name, data: rows.map((row) => row[name] ?? null) });
  const bytes = parquetWriteBuffer({
    columnData: ["txn", "add", "remove", "metaData", "protocol"].map(column),
    schema: CHECKPOINT_SCHEMA as Parameters<typeof parquetWriteBuffer>[0]["schema"],
    createdBy: "snaplake",
  });
  const folder = logFolder(snapshot.tableUri);
  await storage.put(joinUri(folder, checkpointFileName(snapshot.version)), Buffer.from(bytes));
  const lastCheckpoint = {
    version: snapshot.version,
    size: rows.length,
    sizeInBytes: bytes.byteLength,
    numOfAddFiles: snapshot.files.size,
  };
  // Never move the pointer back: a slower writer may finish an older checkpoint after a newer one.
  const previous = await readLastCheckpoint(storage, snapshot.tableUri);
  if (previous === null || previous < snapshot.version) {
    await storage.put(joinUri(folder, "_last_checkpoint"), JSON.stringify(lastCheckpoint));
  }
}

/** The version `_last_checkpoint` names, or null when there is none (or it is unreadable: it is a hint). */
export async function readLastCheckpoint(storage: Storage, tableUri: string): Promise<number | null> {
  try {
    const json = JSON.parse(
      (await storage.get(joinUri(logFolder(tableUri), "_last_checkpoint"))).toString("utf8"),
    );
    return typeof json?.version === "number" ? json.version : null;
  } catch (error) {
    if (error instanceof ObjectNotFoundError || error instanceof SyntaxError) return null;
    throw error;
  }
}

async function readCheckpoint(storage: Storage, tableUri: string, version: number): Promise<PartialSnapshot> {
  const uri = joinUri(logFolder(tableUri), checkpointFileName(version));
  const bytes = await storage.get(uri);
  let rows: Array<Record<string, unknown>>;
  try {
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
  } catch (error) {
    throw new DeltaLogError(`Checkpoint ${uri} is not a readable Parquet file`, { cause: error });
  }
  const actions: DeltaAction[] = [];
  rows.forEach((row, i) => {
    const action = parseAction(plain(row), `${uri} row ${i + 1}`);
    if (action) actions.push(action);
  });
  const state = emptyState(tableUri);
  applyActions(state, actions, version);
  state.checkpointVersion = version;
  return state;
}

/** A checkpoint row as JSON-like values: INT64 bigints become numbers, nulls become absent fields. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return plain(Object.fromEntries(value));
  if (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date)
  ) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (field !== null && field !== undefined) out[key] = plain(field);
    }
    return out;
  }
  return value;
}
