/**
 * One atomic, idempotent commit to a Delta table: the files' `add` actions (with statistics from their
 * Parquet footers), the `remove` actions an overwrite needs, schema evolution, a `txn` naming the writer,
 * a `commitInfo`. A commit version is created only if it does not exist (DeltaLogStore); a writer that
 * loses the race reads the commits that won and tries the next version when they do not conflict:
 * - append never conflicts (a blind append can land after anything);
 * - overwrite conflicts with any commit after the version it read (it would silently drop its rows);
 * - replacePartitions conflicts with commits adding or removing files in the partitions it replaces;
 * - a rewrite (optimize) or a merge conflicts with commits that removed one of the files it rewrites.
 * Idempotence: the `txn` action carries `appId` (the projectId) and, as its version, the table version it
 * is committed at. If the table already holds a txn for the appId, that version is returned and nothing
 * is written, also when the other commit won the race against this very call (a retried process).
 */
import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import { readParquetFooter } from "../../frames/parquet.js";
import type { PartitionValues } from "../../models/hive.js";
import type { Storage } from "../../storage/types.js";
import { normalizeUri } from "../../storage/uri.js";
import { SNAPLAKE_VERSION } from "../../version.js";
import { LostCommitRace, retryLostRaces } from "../commit-retry.js";
import { locateDataFile } from "../data-files.js";
import {
  type AddAction,
  type DeltaAction,
  encodeActionPath,
  type MetaDataAction,
  type ProtocolAction,
  type RemoveAction,
  serializeCommit,
} from "./actions.js";
import { DeltaConflictError, DeltaInputError, DeltaProtocolError } from "./errors.js";
import {
  applyActions,
  type DeltaLogListing,
  type DeltaSnapshot,
  listLog,
  loadSnapshot,
  readCommit,
  WRITER_FEATURES,
  writeCheckpoint,
} from "./log.js";
import { type DeltaLogStore, defaultLogStore } from "./log-store.js";
import {
  type DeltaPrimitiveType,
  type DeltaStructType,
  deltaSchemaFromParquet,
  mergeSchema,
  serializePartitionValue,
  usesTimestampNtz,
} from "./schema.js";
import { type DeltaFileStats, rowsOf, statsFromFooter } from "./stats.js";

export type DeltaWriteMode = "append" | "overwrite" | "replacePartitions";

export interface DeltaDataFile {
  /** Absolute URI under the table root, e.g. `{tableUri}/year=2024/part-....parquet`. */
  uri: string;
}

export interface CommitToDeltaTableInput {
  storage: Storage;
  tableUri: string;
  /** The writer's identity for idempotence: the `txn` appId. One commit per projectId, ever. */
  projectId: string;
  mode: DeltaWriteMode;
  /** The data files to add; their partition values are read from their Hive folders (`k=v/`). */
  files: ReadonlyArray<string | DeltaDataFile>;
  /** The table's partition columns, in order; their values live in the paths, not in the files. */
  partitionColumns: readonly string[];
  /** Each partition column's type (it can't be read from the files). Default `string`. */
  partitionTypes?: Readonly<Record<string, DeltaPrimitiveType>>;
  /** Columns to declare beyond the files' own (merged with them). Default: the files' schemas only. */
  schema?: DeltaStructType;
  /** Required on S3; local folders default to exclusive create. */
  logStore?: DeltaLogStore;
  /** A checkpoint is written at every version divisible by this. Default 10. */
  checkpointInterval?: number;
  /** Races lost to non-conflicting commits before giving up. Default 100. */
  maxAttempts?: number;
  /** `metaData.name` for a new table. */
  tableName?: string;
}

export interface DeltaCommitResult {
  /** The table version holding this projectId's commit. */
  version: number;
  /** False when the table already held the commit (a re-run): nothing was written. */
  committed: boolean;
  filesAdded: number;
  filesRemoved: number;
  rowsAdded: number;
  rowsRemoved: number;
  /** The commit landed but its checkpoint could not be written (readers replay JSON; the next commit retries). */
  checkpointError?: Error;
}

/** A data file ready for an `add` action: path, partition values, size, time, schema and statistics. */
export interface InspectedFile {
  uri: string;
  path: string;
  partitionValues: PartitionValues;
  size: number;
  modificationTime: number;
  schema: DeltaStructType;
  stats: DeltaFileStats;
}

const INSPECT_CONCURRENCY = 16;
const DEFAULT_CHECKPOINT_INTERVAL = 10;
const DEFAULT_MAX_ATTEMPTS = 100;

export async function commitToDeltaTable(input: CommitToDeltaTableInput): Promise<DeltaCommitResult> {
  const tableUri = tableRoot(input.tableUri);
  // A re-run finds its commit before reading any file: optimize and vacuum may have deleted them since.
  const listing = await listLog(
    input.storage,
    tableUri,
    input.logStore ?? defaultLogStore(input.storage, tableUri),
  );
  const snapshot = listing.latest < 0 ? null : await loadSnapshot(input.storage, tableUri, { listing });
  const existing = snapshot?.txns.get(input.projectId);
  if (existing) return alreadyCommitted(existing.version);
  const files = await inspectDataFiles(
    input.storage,
    tableUri,
    input.files.map((file) => (typeof file === "string" ? file : file.uri)),
    input.partitionColumns,
  );
  return runCommit({ ...input, tableUri }, { kind: input.mode }, files, { snapshot });
}

/** rewrite: the same rows in other files (optimize); merge: the rows of `paths` replaced by changed ones. */
export type Operation = { kind: DeltaWriteMode } | { kind: "rewrite" | "merge"; paths: ReadonlySet<string> };

export interface CommitContext {
  storage: Storage;
  tableUri: string;
  /** Recorded in commitInfo; also the txn appId unless `appId` is given. */
  projectId: string;
  /** The txn appId, when the writer's identity for idempotence is not the projectId (a rewrite plan). */
  appId?: string;
  partitionColumns: readonly string[];
  partitionTypes?: Readonly<Record<string, DeltaPrimitiveType>>;
  schema?: DeltaStructType;
  logStore?: DeltaLogStore;
  checkpointInterval?: number;
  maxAttempts?: number;
  tableName?: string;
}

/**
 * Replaces the active files `removePaths` by `files` holding the same rows (`dataChange: false`), as
 * optimize does. Safe against concurrent appends; fails with DeltaConflictError when a concurrent commit
 * removed one of the rewritten files. `appId` makes it idempotent like any commit; `projectId` (default
 * the appId) is the writer recorded in commitInfo.
 */
export async function commitDeltaRewrite(
  input: Omit<CommitContext, "projectId" | "appId" | "partitionColumns"> & {
    appId: string;
    projectId?: string;
    removePaths: readonly string[];
    files: readonly string[];
  },
): Promise<DeltaCommitResult> {
  const tableUri = tableRoot(input.tableUri);
  const snapshot = await loadSnapshot(input.storage, tableUri, { logStore: input.logStore });
  const partitionColumns = snapshot.metadata.partitionColumns;
  const files = await inspectDataFiles(input.storage, tableUri, input.files, partitionColumns);
  return runCommit(
    { ...input, tableUri, projectId: input.projectId ?? input.appId, partitionColumns },
    { kind: "rewrite", paths: new Set(input.removePaths) },
    files,
  );
}

/** Reads each file's size, time and footer; checks it lies in the table and in a partition folder. */
export async function inspectDataFiles(
  storage: Storage,
  tableUri: string,
  uris: readonly string[],
  partitionColumns: readonly string[],
): Promise<InspectedFile[]> {
  const limit = pLimit(INSPECT_CONCURRENCY);
  return Promise.all(
    uris.map((given) =>
      limit(async () => {
        const { uri, relative, partitionValues } = locateDataFile(
          tableUri,
          given,
          partitionColumns,
          (message) => new DeltaInputError(message),
          "Delta",
        );
        const info = await storage.head(uri);
        const footer = await readParquetFooter(storage, uri, info.size);
        const schema = deltaSchemaFromParquet(footer, uri);
        const inFile = schema.fields.find((field) => partitionColumns.includes(field.name));
        if (inFile) {
          throw new DeltaInputError(
            `${uri} holds partition column "${inFile.name}" as data; Delta partition values live only in the log`,
          );
        }
        return {
          uri,
          path: encodeActionPath(relative),
          partitionValues,
          size: info.size,
          modificationTime: info.lastModified.getTime(),
          schema,
          stats: statsFromFooter(footer, schema),
        };
      }),
    ),
  );
}

/**
 * Writes the commit at the next version, or on top of the commits that won the race when they don't
 * conflict. `read` is the snapshot the caller planned against (a merge chose its files from it), so commits
 * landing after it are checked for conflicts too; default the latest.
 */
export async function runCommit(
  context: CommitContext,
  operation: Operation,
  files: InspectedFile[],
  read?: { snapshot: DeltaSnapshot | null },
): Promise<DeltaCommitResult> {
  const { storage, tableUri } = context;
  const logStore = context.logStore ?? defaultLogStore(storage, tableUri);
  const listing = await listLog(storage, tableUri, logStore);
  const readSnapshot = read
    ? read.snapshot
    : listing.latest < 0
      ? null
      : await loadSnapshot(storage, tableUri, { listing });
  const maxAttempts = context.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const readVersion = readSnapshot?.version ?? -1;
  const appId = context.appId ?? context.projectId;

  return retryLostRaces(
    readSnapshot,
    async (snapshot) => {
      const existing = snapshot?.txns.get(appId);
      if (existing) return alreadyCommitted(existing.version);

      const version = (snapshot?.version ?? -1) + 1;
      const now = Date.now();
      // Rebuilt on every attempt: the winners may have changed the schema, protocol or files to replace.
      const built = buildActions(context, operation, files, snapshot, version, now);
      if (await logStore.writeCommit(tableUri, version, serializeCommit(built.actions))) {
        const result: DeltaCommitResult = { version, committed: true, ...built.counts };
        const interval = context.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
        if (version > 0 && version % interval === 0) {
          try {
            await writeCheckpoint(storage, afterCommit(snapshot, built.actions, version, tableUri));
          } catch (error) {
            result.checkpointError = error as Error;
          }
        }
        return result;
      }

      // Lost the race: read what won, check it against this commit, and move on top of it.
      const latest = await listLog(storage, tableUri, logStore);
      const winners = await readWinners(storage, latest, version);
      for (const winner of winners) {
        const ours = winner.actions.find((action) => "txn" in action && action.txn.appId === appId);
        if (ours) return alreadyCommitted(winner.version);
        const conflict = conflictOf(operation, winner.actions, built.partitions, context.partitionColumns);
        if (conflict) {
          const theirs = winner.actions.find((action) => "txn" in action);
          throw new DeltaConflictError(tableUri, readVersion, winner.version, conflict, {
            ours: context.projectId,
            ...(theirs && "txn" in theirs ? { theirs: theirs.txn.appId } : {}),
          });
        }
      }
      const next = snapshot
        ? advance(snapshot, winners)
        : await loadSnapshot(storage, tableUri, { listing: latest });
      throw new LostCommitRace<DeltaSnapshot | null>(next, latest.latest);
    },
    {
      maxAttempts,
      exhausted: (lost) =>
        new DeltaConflictError(
          tableUri,
          readVersion,
          lost.winner,
          `was one of ${maxAttempts} commits in a row that won the race against this one; raise maxAttempts`,
        ),
    },
  );
}

export function alreadyCommitted(version: number): DeltaCommitResult {
  return { version, committed: false, filesAdded: 0, filesRemoved: 0, rowsAdded: 0, rowsRemoved: 0 };
}

async function readWinners(
  storage: Storage,
  listing: DeltaLogListing,
  from: number,
): Promise<Array<{ version: number; actions: DeltaAction[] }>> {
  const winners = [];
  for (let version = from; version <= listing.latest; version++) {
    const uri = listing.commits.get(version);
    if (!uri) break; // a gap is for the next listing (a commit still being published)
    winners.push({ version, actions: await readCommit(storage, uri) });
  }
  return winners;
}

function advance(
  snapshot: DeltaSnapshot,
  winners: Array<{ version: number; actions: DeltaAction[] }>,
): DeltaSnapshot {
  const next: DeltaSnapshot = {
    ...snapshot,
    files: new Map(snapshot.files),
    tombstones: new Map(snapshot.tombstones),
    txns: new Map(snapshot.txns),
  };
  for (const winner of winners) applyActions(next, winner.actions, winner.version);
  return next;
}

function afterCommit(
  snapshot: DeltaSnapshot | null,
  actions: DeltaAction[],
  version: number,
  tableUri: string,
): DeltaSnapshot {
  const base: DeltaSnapshot = snapshot ?? {
    tableUri,
    version: -1,
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    metadata: undefined as unknown as MetaDataAction, // set by the first commit's metaData action
    schema: { type: "struct", fields: [] },
    files: new Map(),
    tombstones: new Map(),
    txns: new Map(),
    checkpointVersion: null,
  };
  return advance(base, [{ version, actions }]);
}

/** Partition values as one comparable key, in the table's column order. */
function partitionKey(values: Readonly<Record<string, string | null>>, columns: readonly string[]): string {
  return JSON.stringify(columns.map((column) => values[column] ?? null));
}

function conflictOf(
  operation: Operation,
  winner: DeltaAction[],
  ourPartitions: ReadonlySet<string>,
  partitionColumns: readonly string[],
): string | null {
  switch (operation.kind) {
    case "append":
      return null;
    case "overwrite":
      return "changed the table this overwrite replaces";
    case "replacePartitions": {
      for (const action of winner) {
        if ("metaData" in action) return "changed the table's metadata";
        const touched =
          "add" in action
            ? action.add.partitionValues
            : "remove" in action
              ? action.remove.partitionValues
              : undefined;
        if ("remove" in action && !touched)
          return `removed ${action.remove.path}, of a partition it does not name`;
        if (touched && ourPartitions.has(partitionKey(touched, partitionColumns))) {
          const where = partitionColumns.map((c) => `${c}=${touched[c] ?? "null"}`).join("/");
          return `wrote to partition ${where}, which this commit replaces`;
        }
      }
      return null;
    }
    case "rewrite":
    case "merge": {
      for (const action of winner) {
        if ("remove" in action && operation.paths.has(action.remove.path)) {
          return `removed ${action.remove.path}, which this ${operation.kind} replaces`;
        }
      }
      return null;
    }
  }
}

/** A file's partition values serialised for the table's partition column types. */
function serializedValues(
  file: InspectedFile,
  snapshot: DeltaSnapshot | null,
  partitionColumns: readonly string[],
  partitionTypes?: Readonly<Record<string, DeltaPrimitiveType>>,
): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const column of partitionColumns) {
    const field = snapshot?.schema.fields.find((f) => f.name === column);
    const type = field?.type ?? partitionTypes?.[column] ?? "string";
    values[column] = serializePartitionValue(file.partitionValues[column] ?? null, type, {
      column,
      file: file.uri,
    });
  }
  return values;
}

interface BuiltCommit {
  actions: DeltaAction[];
  /** The partitions the commit adds files to, as partitionKey()s. */
  partitions: Set<string>;
  counts: Pick<DeltaCommitResult, "filesAdded" | "filesRemoved" | "rowsAdded" | "rowsRemoved">;
}

function buildActions(
  context: CommitContext,
  operation: Operation,
  files: InspectedFile[],
  snapshot: DeltaSnapshot | null,
  version: number,
  now: number,
): BuiltCommit {
  const { tableUri, partitionColumns } = context;
  if (snapshot) assertWritable(snapshot, operation);
  if (snapshot && !sameColumns(snapshot.metadata.partitionColumns, partitionColumns)) {
    throw new DeltaInputError(
      `Delta table ${tableUri} is partitioned by (${snapshot.metadata.partitionColumns.join(", ") || "nothing"}), ` +
        `not by (${partitionColumns.join(", ") || "nothing"})`,
    );
  }

  // The schema: the table's (or the given one), extended by every file's columns, then the partition columns.
  let schema: DeltaStructType = snapshot?.schema ?? context.schema ?? { type: "struct", fields: [] };
  let schemaChanged = snapshot === null;
  const merge = (incoming: DeltaStructType, source: string) => {
    const merged = mergeSchema(schema, incoming, { tableUri, source });
    schema = merged.schema;
    schemaChanged ||= merged.changed;
  };
  if (snapshot && context.schema) merge(context.schema, "the given schema");
  for (const file of files) merge(file.schema, file.uri);
  const partitionFields = partitionColumns.map((name) => ({
    name,
    // An existing table's partition column keeps its type unless the caller names one (checked by the merge).
    type:
      context.partitionTypes?.[name] ??
      snapshot?.schema.fields.find((f) => f.name === name)?.type ??
      "string",
    nullable: true,
    metadata: {},
  }));
  merge({ type: "struct", fields: partitionFields }, "the partition column types");

  const actions: DeltaAction[] = [];
  const protocol = protocolFor(schema, snapshot?.protocol);
  let metadata: MetaDataAction | undefined;
  if (schemaChanged) {
    metadata = {
      ...(snapshot?.metadata ?? {
        id: randomUUID(),
        format: { provider: "parquet", options: {} },
        partitionColumns: [...partitionColumns],
        configuration: {},
        createdTime: now,
        ...(context.tableName ? { name: context.tableName } : {}),
      }),
      schemaString: JSON.stringify(schema),
    };
  }

  const adds: AddAction[] = files.map((file) => ({
    path: file.path,
    partitionValues: serializedValues(file, snapshot, partitionColumns, context.partitionTypes),
    size: file.size,
    modificationTime: file.modificationTime,
    dataChange: operation.kind !== "rewrite",
    stats: JSON.stringify(file.stats),
  }));
  const addedPaths = new Set(adds.map((add) => add.path));
  const replaced = replacedFiles(operation, snapshot, adds, partitionColumns).filter(
    // A path both kept and re-added is not removed: one commit may not add and remove the same file.
    (file) => !addedPaths.has(file.path),
  );
  const removes: RemoveAction[] = replaced.map((file) => ({
    path: file.path,
    deletionTimestamp: now,
    dataChange: operation.kind !== "rewrite",
    extendedFileMetadata: true,
    partitionValues: file.partitionValues,
    size: file.size,
    ...(file.stats !== undefined ? { stats: file.stats } : {}),
  }));

  const counts = {
    filesAdded: adds.length,
    filesRemoved: removes.length,
    rowsAdded: files.reduce((sum, file) => sum + file.stats.numRecords, 0),
    rowsRemoved: replaced.reduce((sum, file) => sum + (rowsOf(file.stats) ?? 0), 0),
  };
  actions.push({
    commitInfo: {
      timestamp: now,
      operation: operation.kind === "rewrite" ? "OPTIMIZE" : operation.kind === "merge" ? "MERGE" : "WRITE",
      operationParameters: operationParameters(operation, partitionColumns),
      engineInfo: `snaplake/${SNAPLAKE_VERSION}`,
      isBlindAppend: operation.kind === "append",
      snaplake: { version: SNAPLAKE_VERSION, projectId: context.projectId, ...counts },
    },
  });
  if (!snapshot || !sameProtocol(protocol, snapshot.protocol)) actions.push({ protocol });
  if (metadata) actions.push({ metaData: metadata });
  actions.push({ txn: { appId: context.appId ?? context.projectId, version, lastUpdated: now } });
  for (const remove of removes) actions.push({ remove });
  for (const add of adds) actions.push({ add });
  const partitions = new Set(adds.map((add) => partitionKey(add.partitionValues, partitionColumns)));
  return { actions, partitions, counts };
}

function replacedFiles(
  operation: Operation,
  snapshot: DeltaSnapshot | null,
  adds: AddAction[],
  partitionColumns: readonly string[],
): AddAction[] {
  if (!snapshot) return [];
  const active = [...snapshot.files.values()];
  switch (operation.kind) {
    case "append":
      return [];
    case "overwrite":
      return active;
    case "replacePartitions": {
      const replaced = new Set(adds.map((add) => partitionKey(add.partitionValues, partitionColumns)));
      return active.filter((file) => replaced.has(partitionKey(file.partitionValues, partitionColumns)));
    }
    case "rewrite":
    case "merge": {
      const missing = [...operation.paths].filter((path) => !snapshot.files.has(path));
      if (missing.length > 0) {
        throw new DeltaConflictError(
          snapshot.tableUri,
          snapshot.version,
          snapshot.version,
          `no longer holds ${missing[0]}`,
        );
      }
      return active.filter((file) => operation.paths.has(file.path));
    }
  }
}

function operationParameters(
  operation: Operation,
  partitionColumns: readonly string[],
): Record<string, unknown> {
  const partitionBy = JSON.stringify(partitionColumns);
  switch (operation.kind) {
    case "append":
      return { mode: "Append", partitionBy };
    case "overwrite":
      return { mode: "Overwrite", partitionBy };
    case "replacePartitions":
      // Spark's name for replacing only the partitions a write touches.
      return { mode: "Overwrite", partitionBy, partitionOverwriteMode: "DYNAMIC" };
    case "rewrite":
      return { predicate: "[]", filesRewritten: operation.paths.size };
    case "merge":
      return { predicate: "[]", filesRewritten: operation.paths.size };
  }
}

/**
 * Reader 1 / writer 2 unless a column is timestamp_ntz, which needs the timestampNtz table feature
 * (reader 3 / writer 7). An existing table's protocol is only ever raised.
 */
function protocolFor(schema: DeltaStructType, current: ProtocolAction | undefined): ProtocolAction {
  const base = current ?? { minReaderVersion: 1, minWriterVersion: 2 };
  if (!usesTimestampNtz(schema)) return base;
  if (base.readerFeatures?.includes("timestampNtz") && base.writerFeatures?.includes("timestampNtz"))
    return base;
  return {
    minReaderVersion: 3,
    minWriterVersion: 7,
    readerFeatures: [...new Set([...(base.readerFeatures ?? []), "timestampNtz"])],
    // Writer 2's features stay required once they are listed explicitly.
    writerFeatures: [...new Set([...(base.writerFeatures ?? ["appendOnly", "invariants"]), "timestampNtz"])],
  };
}

function sameProtocol(a: ProtocolAction, b: ProtocolAction): boolean {
  return (
    JSON.stringify([a.minReaderVersion, a.minWriterVersion, a.readerFeatures, a.writerFeatures]) ===
    JSON.stringify([b.minReaderVersion, b.minWriterVersion, b.readerFeatures, b.writerFeatures])
  );
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i]);
}

/** Refuses tables whose writer requirements this library does not meet, and appendOnly violations. */
function assertWritable(snapshot: DeltaSnapshot, operation: Operation): void {
  const { protocol, metadata, tableUri } = snapshot;
  const writer = protocol.minWriterVersion;
  const unknown = (protocol.writerFeatures ?? []).filter((feature) => !WRITER_FEATURES.has(feature));
  if (!(writer <= 2 || (writer === 7 && unknown.length === 0))) {
    throw new DeltaProtocolError(
      tableUri,
      `needs Delta writer version ${writer}${unknown.length ? ` with features ${unknown.join(", ")}` : ""}; ` +
        `this library writes versions 1, 2 and 7 with features ${[...WRITER_FEATURES].join(", ")}`,
    );
  }
  if (JSON.stringify(snapshot.schema).includes('"delta.invariants"')) {
    throw new DeltaProtocolError(
      tableUri,
      "has column invariants (delta.invariants), which this library cannot check",
    );
  }
  if (metadata.configuration["delta.appendOnly"] === "true" && operation.kind !== "append") {
    throw new DeltaInputError(
      `Delta table ${tableUri} is append-only (delta.appendOnly=true): ${operation.kind} would remove files`,
    );
  }
}

/** The table URI in canonical form, without a trailing slash. */
export function tableRoot(tableUri: string): string {
  return normalizeUri(tableUri).replace(/\/+$/, "");
}
