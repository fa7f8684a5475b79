/**
 * One atomic, idempotent commit to an Iceberg table (format version 2): the run's files in a new manifest
 * (with metrics and bounds from their Parquet footers), the manifests of the current snapshot carried over
 * or rewritten with the files an overwrite removes marked DELETED, a manifest list, a snapshot with its
 * summary, and new table metadata made current through the catalog. A writer that loses the race reloads
 * and retries when the winners do not conflict (spec "Commit Conflict Resolution and Retry"):
 * - append never conflicts;
 * - overwrite conflicts with any snapshot committed after the one it read;
 * - replacePartitions conflicts with snapshots that added or removed files in the partitions it replaces;
 * - a rewrite (optimize) conflicts when a file it replaces is no longer in the table.
 * Idempotence: each snapshot's summary holds `snaplake.project-id`, and the table property
 * `snaplake.committed.<projectId>` names the snapshot (and outlives its expiry); a table that already holds
 * the projectId's commit gets nothing new, also when that commit won the race against this very call.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pLimit from "p-limit";
import { readParquetFooter } from "../../frames/parquet.js";
import type { Storage } from "../../storage/types.js";
import { SNAPLAKE_VERSION } from "../../version.js";
import { LostCommitRace, retryLostRaces } from "../commit-retry.js";
import { locateDataFile } from "../data-files.js";
import type { DeltaPrimitiveType, DeltaStructType } from "../delta/schema.js";
import { columnAggregates, columnPathKey } from "../footer-stats.js";
import { commitTableMetadata, type IcebergCatalog, type IcebergCatalogState } from "./catalog.js";
import { IcebergConflictError, IcebergInputError } from "./errors.js";
import {
  type DataFileRecord,
  type ManifestEntry,
  type ManifestFileRecord,
  mergeManifests,
  readManifestEntries,
  readManifestList,
  STATUS_ADDED,
  STATUS_DELETED,
  STATUS_EXISTING,
  writeManifest,
  writeManifestList,
} from "./manifests.js";
import {
  type CommittedSnapshot,
  committedPropertyOf,
  committedSnapshot,
  currentSchema,
  currentSnapshot,
  defaultSpec,
  type IcebergPartitionField,
  type IcebergSnapshot,
  type IcebergTableMetadata,
  NAME_MAPPING_PROPERTY,
  PROJECT_ID_PROPERTY,
  TABLE_PROPERTIES,
  tableProperty,
} from "./metadata.js";
import {
  columnsOfParquet,
  type IcebergField,
  type IcebergSchema,
  icebergPrimitiveOf,
  mergeColumns,
  nameMappingOf,
} from "./schema.js";
import { type PartitionValue, parsePartitionValue, RAW_STAT_PARSERS, serializeBound } from "./values.js";

export type IcebergWriteMode = "append" | "overwrite" | "replacePartitions";

export interface CommitToIcebergInput {
  storage: Storage;
  catalog: IcebergCatalog;
  /** The writer's identity for idempotence. One snapshot per projectId, ever. */
  projectId: string;
  mode: IcebergWriteMode;
  /** Absolute URIs under the table location, each in its partition's Hive folder (`k=v/`). */
  files: readonly string[];
  /** The partition columns, in order: an identity partition spec of them. */
  partitionColumns: readonly string[];
  /** Each partition column's type (values live in the folder names). Default `string`. */
  partitionTypes?: Readonly<Record<string, DeltaPrimitiveType>>;
  /** Races lost to non-conflicting commits before giving up. Default 100. */
  maxAttempts?: number;
}

export interface IcebergCommitResult {
  /** The snapshot holding this projectId's commit. */
  snapshotId: number;
  sequenceNumber: number;
  /** False when the table already held the commit (a re-run): nothing was written. */
  committed: boolean;
  filesAdded: number;
  filesRemoved: number;
  rowsAdded: number;
  rowsRemoved: number;
}

/** A data file ready for a manifest entry: location, partition values, size, columns and footer metrics. */
interface InspectedFile {
  uri: string;
  partitionValues: Record<string, string | null>;
  size: number;
  rows: number;
  columns: DeltaStructType;
  footer: Awaited<ReturnType<typeof readParquetFooter>>;
}

type Operation = { kind: IcebergWriteMode } | { kind: "rewrite"; paths: ReadonlySet<string> };

const INSPECT_CONCURRENCY = 16;
const DEFAULT_MAX_ATTEMPTS = 100;
const PARTITION_FIELD_ID_START = 1000;

export async function commitToIcebergTable(input: CommitToIcebergInput): Promise<IcebergCommitResult> {
  // A re-run finds its commit before reading any file: optimize and vacuum may have deleted them since.
  const state = await input.catalog.load();
  const committed = committedSnapshot(state?.metadata, input.projectId);
  if (committed) return alreadyCommitted(committed);
  const files = await inspectFiles(input.storage, input.catalog, input.files, input.partitionColumns);
  return runCommit(input, { kind: input.mode }, files, state);
}

/**
 * Replaces the live files `removePaths` by `files` holding the same rows, as optimize does: a `replace`
 * snapshot. Safe against concurrent appends; fails with IcebergConflictError when a file it replaces was
 * removed meanwhile. `appId` makes it idempotent like any commit.
 */
export async function commitIcebergRewrite(input: {
  storage: Storage;
  catalog: IcebergCatalog;
  appId: string;
  removePaths: readonly string[];
  files: readonly string[];
  maxAttempts?: number;
}): Promise<IcebergCommitResult> {
  const state = await input.catalog.load();
  if (!state) throw new IcebergInputError(`Iceberg table ${input.catalog.displayName} does not exist yet`);
  const partitionColumns = defaultSpec(state.metadata).map((field) => field.name);
  const files = await inspectFiles(input.storage, input.catalog, input.files, partitionColumns);
  return runCommit(
    { ...input, projectId: input.appId, mode: "append", partitionColumns },
    { kind: "rewrite", paths: new Set(input.removePaths) },
    files,
    state,
  );
}

async function inspectFiles(
  storage: Storage,
  catalog: IcebergCatalog,
  uris: readonly string[],
  partitionColumns: readonly string[],
): Promise<InspectedFile[]> {
  const limit = pLimit(INSPECT_CONCURRENCY);
  return Promise.all(
    uris.map((given) =>
      limit(async () => {
        const { uri, partitionValues } = locateDataFile(
          catalog.tableUri,
          given,
          partitionColumns,
          (message) => new IcebergInputError(message),
          "Iceberg",
        );
        const info = await storage.head(uri);
        const footer = await readParquetFooter(storage, uri, info.size, RAW_STAT_PARSERS);
        const columns = columnsOfParquet(footer, uri);
        const inFile = columns.fields.find((field) => partitionColumns.includes(field.name));
        if (inFile) {
          throw new IcebergInputError(
            `${uri} holds partition column "${inFile.name}" as data; its values belong in the folder name only`,
          );
        }
        return { uri, partitionValues, size: info.size, rows: Number(footer.num_rows), columns, footer };
      }),
    ),
  );
}

function newSnapshotId(): number {
  // A positive long that every JSON reader keeps exact: 53 random bits.
  return Number(randomBytes(8).readBigUInt64BE() >> 11n) || 1;
}

async function runCommit(
  input: Omit<CommitToIcebergInput, "files">,
  operation: Operation,
  files: InspectedFile[],
  /** The catalog state read before the files were inspected: the first attempt builds on it. */
  loaded: IcebergCatalogState | null,
): Promise<IcebergCommitResult> {
  const { storage, catalog } = input;
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const readSnapshotId = loaded ? (currentSnapshot(loaded.metadata)?.["snapshot-id"] ?? null) : null;
  const snapshotId = newSnapshotId();

  return retryLostRaces(
    loaded,
    async (state) => {
      const existing = committedSnapshot(state?.metadata, input.projectId);
      if (existing) return alreadyCommitted(existing);

      const built = await buildCommit(input, operation, files, state, snapshotId);
      const location = await commitTableMetadata(storage, catalog, state, built.metadata);
      if (location !== null) return built.result;

      // Lost the race: the winners' snapshots decide whether this commit can go on top of them.
      const before = new Set(state?.metadata.snapshots.map((s) => s["snapshot-id"]) ?? []);
      const winnerState = await catalog.load();
      await storage.delete(built.written);
      if (!winnerState)
        throw new IcebergInputError(`Iceberg table ${catalog.displayName} vanished during a commit`);
      const winners = winnerState.metadata.snapshots.filter((s) => !before.has(s["snapshot-id"]));
      const ours = committedSnapshot(winnerState.metadata, input.projectId);
      if (ours) return alreadyCommitted(ours);
      for (const winner of winners) {
        const conflict = await conflictOf(storage, operation, winner, built.partitions, winnerState);
        if (conflict) {
          throw new IcebergConflictError(
            catalog.displayName,
            readSnapshotId,
            winner["snapshot-id"],
            conflict,
          );
        }
      }
      throw new LostCommitRace<IcebergCatalogState | null>(
        winnerState,
        winners.at(-1)?.["snapshot-id"] ?? -1,
      );
    },
    {
      maxAttempts,
      exhausted: (lost) =>
        new IcebergConflictError(
          catalog.displayName,
          readSnapshotId,
          lost.winner,
          `was one of ${maxAttempts} commits in a row that won the race against this one; raise maxAttempts`,
        ),
    },
  );
}

function alreadyCommitted(snapshot: CommittedSnapshot): IcebergCommitResult {
  return {
    ...snapshot,
    committed: false,
    filesAdded: 0,
    filesRemoved: 0,
    rowsAdded: 0,
    rowsRemoved: 0,
  };
}

function partitionKey(
  partition: Readonly<Record<string, PartitionValue>>,
  spec: readonly IcebergPartitionField[],
) {
  return JSON.stringify(spec.map((field) => partition[field.name] ?? null));
}

async function conflictOf(
  storage: Storage,
  operation: Operation,
  winner: IcebergSnapshot,
  ourPartitions: ReadonlySet<string>,
  state: IcebergCatalogState,
): Promise<string | null> {
  switch (operation.kind) {
    case "append":
      return null;
    case "overwrite":
      return "changed the table this overwrite replaces";
    case "replacePartitions": {
      const spec = defaultSpec(state.metadata);
      for (const manifest of await readManifestList(storage, winner["manifest-list"])) {
        if (manifest.added_snapshot_id !== winner["snapshot-id"]) continue;
        for (const entry of await readManifestEntries(storage, manifest)) {
          if (entry.status === STATUS_EXISTING || entry.snapshot_id !== winner["snapshot-id"]) continue;
          if (ourPartitions.has(partitionKey(entry.data_file.partition, spec))) {
            const where = spec
              .map((f) => `${f.name}=${entry.data_file.partition[f.name] ?? "null"}`)
              .join("/");
            return `wrote to partition ${where}, which this commit replaces`;
          }
        }
      }
      return null;
    }
    case "rewrite": {
      const live = new Set(
        (await liveEntries(storage, currentSnapshot(state.metadata))).map((e) => e.data_file.file_path),
      );
      const gone = [...operation.paths].find((path) => !live.has(path));
      return gone ? `removed ${gone}, which this rewrite replaces` : null;
    }
  }
}

/** The live (ADDED or EXISTING) entries of a snapshot, with resolved sequence numbers. */
export async function liveEntries(
  storage: Storage,
  snapshot: IcebergSnapshot | null,
): Promise<ManifestEntry[]> {
  if (!snapshot) return [];
  const entries: ManifestEntry[] = [];
  for (const manifest of await readManifestList(storage, snapshot["manifest-list"])) {
    for (const entry of await readManifestEntries(storage, manifest)) {
      if (entry.status !== STATUS_DELETED) entries.push(entry);
    }
  }
  return entries;
}

interface BuiltCommit {
  metadata: IcebergTableMetadata;
  result: IcebergCommitResult;
  /** The manifests and manifest list this attempt wrote: deleted again when it loses the race. */
  written: string[];
  partitions: Set<string>;
}

async function buildCommit(
  input: Omit<CommitToIcebergInput, "files">,
  operation: Operation,
  files: InspectedFile[],
  state: IcebergCatalogState | null,
  snapshotId: number,
): Promise<BuiltCommit> {
  const { storage, catalog } = input;
  const now = Date.now();
  const base = state?.metadata ?? newTableMetadata(catalog.tableUri, now);
  const table = catalog.displayName;

  // Schema: the files' new columns join with new ids; the partition columns (not in the files) too.
  const schema = currentSchema(base);
  const merge = mergeColumns(
    table,
    schema.fields,
    base["last-column-id"],
    files.map((file) => ({ uri: file.uri, columns: file.columns })),
  );
  let lastColumnId = merge.lastColumnId;
  const fields: IcebergField[] = merge.fields;
  let changed = merge.changed;
  for (const column of input.partitionColumns) {
    if (fields.some((field) => field.name === column)) continue;
    const type = icebergPrimitiveOf(input.partitionTypes?.[column] ?? "string");
    fields.push({ id: ++lastColumnId, name: column, required: false, type });
    changed = true;
  }
  const nextSchema: IcebergSchema = changed
    ? { type: "struct", "schema-id": Math.max(...base.schemas.map((s) => s["schema-id"])) + 1, fields }
    : schema;
  if (!state) nextSchema["schema-id"] = 0;
  const schemas = state ? (changed ? [...base.schemas, nextSchema] : base.schemas) : [nextSchema];

  // Partition spec: identity of the partition columns, fixed when the table is created.
  let spec = state ? defaultSpec(base) : [];
  if (!state) {
    spec = input.partitionColumns.map((column, i) => ({
      "source-id": fields.find((field) => field.name === column)!.id,
      "field-id": PARTITION_FIELD_ID_START + i,
      name: column,
      transform: "identity",
    }));
  }
  const specColumns = spec.map((field) => field.name);
  if (operation.kind !== "rewrite" && specColumns.join("\u0000") !== input.partitionColumns.join("\u0000")) {
    throw new IcebergInputError(
      `Iceberg table ${table} is partitioned by (${specColumns.join(", ") || "nothing"}), but this run's files by ` +
        `(${input.partitionColumns.join(", ") || "nothing"})`,
    );
  }

  const sequenceNumber = base["last-sequence-number"] + 1;
  const parent = state ? currentSnapshot(base) : null;
  const written: string[] = [];

  // The run's files as ADDED entries (snapshot id and sequence numbers inherited from the list).
  const added: ManifestEntry[] = files.map((file) => ({
    status: STATUS_ADDED,
    snapshot_id: null,
    sequence_number: null,
    file_sequence_number: null,
    data_file: dataFileRecord(file, nextSchema, spec, table),
  }));
  const partitions = new Set(added.map((entry) => partitionKey(entry.data_file.partition, spec)));

  // The current snapshot's manifests: carried as they are, or rewritten with removed files DELETED.
  const removes = (entry: ManifestEntry): boolean => {
    switch (operation.kind) {
      case "append":
        return false;
      case "overwrite":
        return true;
      case "replacePartitions":
        return partitions.has(partitionKey(entry.data_file.partition, spec));
      case "rewrite":
        return operation.paths.has(entry.data_file.file_path);
    }
  };
  const carried: ManifestFileRecord[] = [];
  const rewritten: ManifestEntry[] = [];
  const removed: ManifestEntry[] = [];
  for (const manifest of parent ? await readManifestList(storage, parent["manifest-list"]) : []) {
    if (operation.kind === "append") {
      carried.push(manifest);
      continue;
    }
    const entries = await readManifestEntries(storage, manifest);
    const live = entries.filter((entry) => entry.status !== STATUS_DELETED);
    if (!live.some(removes)) {
      carried.push(manifest);
      continue;
    }
    for (const entry of live) {
      if (removes(entry)) {
        const deleted = { ...entry, status: STATUS_DELETED, snapshot_id: snapshotId };
        rewritten.push(deleted);
        removed.push(deleted);
      } else rewritten.push({ ...entry, status: STATUS_EXISTING });
    }
  }
  if (operation.kind === "rewrite") {
    const found = new Set(removed.map((entry) => entry.data_file.file_path));
    const missing = [...operation.paths].find((path) => !found.has(path));
    if (missing) {
      throw new IcebergConflictError(
        table,
        parent?.["snapshot-id"] ?? null,
        parent?.["snapshot-id"] ?? -1,
        `does not hold ${missing}, which this rewrite replaces`,
      );
    }
  }

  const manifestInput = {
    storage,
    metadata: base,
    schema: nextSchema,
    specId: base["default-spec-id"],
    spec,
    snapshotId,
    sequenceNumber,
  };
  const ownManifests: ManifestFileRecord[] = [];
  if (added.length > 0) ownManifests.push(await writeManifest({ ...manifestInput, entries: added }));
  if (rewritten.length > 0) ownManifests.push(await writeManifest({ ...manifestInput, entries: rewritten }));
  let manifests = [...ownManifests, ...carried];
  if (tableProperty(base, TABLE_PROPERTIES.manifestMergeEnabled)) {
    const merge = await mergeManifests({
      ...manifestInput,
      manifests,
      minCountToMerge: tableProperty(base, TABLE_PROPERTIES.manifestMinCountToMerge),
      targetSizeBytes: tableProperty(base, TABLE_PROPERTIES.manifestTargetSizeBytes),
    });
    // This attempt's own manifests that went into a merged one: nothing references them any more.
    const merged = ownManifests.filter((m) => merge.replaced.includes(m)).map((m) => m.manifest_path);
    if (merged.length > 0) await storage.delete(merged);
    manifests = merge.manifests;
  }
  written.push(...manifests.filter((m) => !carried.includes(m)).map((m) => m.manifest_path));
  const manifestList = await writeManifestList(
    storage,
    base.location,
    { snapshotId, parentSnapshotId: parent?.["snapshot-id"] ?? null, sequenceNumber },
    manifests,
  );
  written.push(manifestList);

  const rowsAdded = files.reduce((sum, file) => sum + file.rows, 0);
  const rowsRemoved = removed.reduce((sum, entry) => sum + entry.data_file.record_count, 0);
  const bytesAdded = files.reduce((sum, file) => sum + file.size, 0);
  const bytesRemoved = removed.reduce((sum, entry) => sum + entry.data_file.file_size_in_bytes, 0);
  const total = (key: string) => Number(parent?.summary[key] ?? 0);
  const summary: IcebergSnapshot["summary"] = {
    operation: operationName(operation),
    "added-data-files": String(files.length),
    "deleted-data-files": String(removed.length),
    "added-records": String(rowsAdded),
    "deleted-records": String(rowsRemoved),
    "added-files-size": String(bytesAdded),
    "removed-files-size": String(bytesRemoved),
    "changed-partition-count": String(
      new Set([...partitions, ...removed.map((e) => partitionKey(e.data_file.partition, spec))]).size,
    ),
    "total-records": String(total("total-records") + rowsAdded - rowsRemoved),
    "total-data-files": String(total("total-data-files") + files.length - removed.length),
    "total-files-size": String(total("total-files-size") + bytesAdded - bytesRemoved),
    "total-delete-files": "0",
    "total-position-deletes": "0",
    "total-equality-deletes": "0",
    ...(operation.kind === "replacePartitions" ? { "replace-partitions": "true" } : {}),
    [PROJECT_ID_PROPERTY]: input.projectId,
    "snaplake.version": SNAPLAKE_VERSION,
  };
  const snapshot: IcebergSnapshot = {
    "snapshot-id": snapshotId,
    ...(parent ? { "parent-snapshot-id": parent["snapshot-id"] } : {}),
    "sequence-number": sequenceNumber,
    "timestamp-ms": now,
    "manifest-list": manifestList,
    summary,
    "schema-id": nextSchema["schema-id"],
  };
  const metadata: IcebergTableMetadata = {
    ...base,
    "last-sequence-number": sequenceNumber,
    "last-updated-ms": now,
    "last-column-id": lastColumnId,
    schemas,
    "current-schema-id": nextSchema["schema-id"],
    "partition-specs": [
      { "spec-id": base["default-spec-id"], fields: spec },
      ...base["partition-specs"].filter((s) => s["spec-id"] !== base["default-spec-id"]),
    ],
    "last-partition-id": Math.max(base["last-partition-id"], ...spec.map((f) => f["field-id"])),
    properties: {
      ...base.properties,
      [NAME_MAPPING_PROPERTY]: nameMappingOf(fields),
      ...committedPropertyOf(input.projectId, { snapshotId, sequenceNumber }),
    },
    "current-snapshot-id": snapshotId,
    snapshots: [...base.snapshots, snapshot],
    "snapshot-log": [...base["snapshot-log"], { "timestamp-ms": now, "snapshot-id": snapshotId }],
    refs: { ...base.refs, main: { "snapshot-id": snapshotId, type: "branch" } },
  };
  return {
    metadata,
    written,
    partitions,
    result: {
      snapshotId,
      sequenceNumber,
      committed: true,
      filesAdded: files.length,
      filesRemoved: removed.length,
      rowsAdded,
      rowsRemoved,
    },
  };
}

function operationName(operation: Operation): string {
  switch (operation.kind) {
    case "append":
      return "append";
    case "rewrite":
      return "replace";
    default:
      return "overwrite";
  }
}

function newTableMetadata(location: string, now: number): IcebergTableMetadata {
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location,
    "last-sequence-number": 0,
    "last-updated-ms": now,
    "last-column-id": 0,
    schemas: [{ type: "struct", "schema-id": 0, fields: [] }],
    "current-schema-id": 0,
    "partition-specs": [{ "spec-id": 0, fields: [] }],
    "default-spec-id": 0,
    "last-partition-id": PARTITION_FIELD_ID_START - 1, // the spec's value for an unpartitioned table
    properties: {
      "write.format.default": "parquet",
      // Written out so that other engines committing to the table delete old metadata files too.
      [TABLE_PROPERTIES.deleteMetadataAfterCommit.name]: "true",
    },
    "current-snapshot-id": null,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [{ "order-id": 0, fields: [] }],
    "default-sort-order-id": 0,
  };
}

/** The `data_file` of a run's file: partition tuple, counts and bounds of its top-level primitive columns. */
function dataFileRecord(
  file: InspectedFile,
  schema: IcebergSchema,
  spec: readonly IcebergPartitionField[],
  table: string,
): DataFileRecord {
  const partition: Record<string, PartitionValue> = {};
  for (const field of spec) {
    const source = schema.fields.find((f) => f.id === field["source-id"]);
    partition[field.name] = parsePartitionValue(
      file.partitionValues[field.name] ?? null,
      source?.type ?? "string",
      field.name,
      `${file.uri} (table ${table})`,
    );
  }
  const aggregates = columnAggregates(file.footer);
  const sizes: Array<{ key: number; value: number }> = [];
  const values: Array<{ key: number; value: number }> = [];
  const nulls: Array<{ key: number; value: number }> = [];
  const lower: Array<{ key: number; value: Buffer }> = [];
  const upper: Array<{ key: number; value: Buffer }> = [];
  for (const column of file.columns.fields) {
    const field = schema.fields.find((f) => f.name === column.name);
    const aggregate = aggregates.get(columnPathKey([column.name]));
    if (!field || !aggregate || typeof field.type !== "string") continue;
    sizes.push({ key: field.id, value: Number(aggregate.compressedSize) });
    values.push({ key: field.id, value: Number(aggregate.values) });
    if (aggregate.nullsComplete) nulls.push({ key: field.id, value: Number(aggregate.nulls) });
    if (!aggregate.boundsComplete || aggregate.min === undefined || aggregate.max === undefined) continue;
    // An int column of a long table serialises as a long, as the spec's promotion reads it.
    const min = serializeBound(aggregate.min, field.type);
    const max = serializeBound(aggregate.max, field.type);
    if (min && max) {
      lower.push({ key: field.id, value: min });
      upper.push({ key: field.id, value: max });
    }
  }
  return {
    content: 0,
    file_path: file.uri,
    file_format: "PARQUET",
    partition,
    record_count: file.rows,
    file_size_in_bytes: file.size,
    column_sizes: sizes,
    value_counts: values,
    null_value_counts: nulls,
    nan_value_counts: null,
    lower_bounds: lower,
    upper_bounds: upper,
    key_metadata: null,
    split_offsets: null,
    equality_ids: null,
    sort_order_id: null,
    referenced_data_file: null,
  };
}
