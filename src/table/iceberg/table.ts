/** Reading an Iceberg table at a snapshot: its live files, partition values, row counts, schema, history. */
import type { Storage } from "../../storage/types.js";
import type { IcebergCatalog } from "./catalog.js";
import { liveEntries } from "./commit.js";
import { IcebergTableNotFoundError } from "./errors.js";
import {
  currentSchema,
  currentSnapshot,
  defaultSpec,
  type IcebergTableMetadata,
  PROJECT_ID_PROPERTY,
} from "./metadata.js";
import type { IcebergSchema } from "./schema.js";

export interface IcebergTableFile {
  /** The file's absolute URI, as the manifest holds it. */
  uri: string;
  /** Partition values as manifest values (strings, numbers, booleans), null for a null partition. */
  partition: Record<string, unknown>;
  size: number;
  rows: number;
}

export interface IcebergHistoryEntry {
  snapshotId: number;
  sequenceNumber: number;
  timestamp: number;
  operation: string;
  projectId: string | null;
  rowsAdded: number;
  rowsRemoved: number;
  filesAdded: number;
  filesRemoved: number;
  current: boolean;
}

export interface IcebergTable {
  uri: string;
  metadata: IcebergTableMetadata;
  metadataLocation: string;
  /** The snapshot read, null for a table without snapshots. */
  snapshotId: number | null;
  sequenceNumber: number;
  schema: IcebergSchema;
  partitionColumns: string[];
  files: IcebergTableFile[];
  /** The table's snapshots (those not expired), oldest first. */
  history(): IcebergHistoryEntry[];
}

/** Opens the current snapshot, or `snapshotId` (time travel to any snapshot not yet expired). */
export async function openIcebergTable(
  storage: Storage,
  catalog: IcebergCatalog,
  options: { snapshotId?: number } = {},
): Promise<IcebergTable> {
  const state = await catalog.load();
  if (!state) throw new IcebergTableNotFoundError(catalog.displayName);
  const { metadata } = state;
  const snapshot =
    options.snapshotId === undefined
      ? currentSnapshot(metadata)
      : metadata.snapshots.find((s) => s["snapshot-id"] === options.snapshotId);
  if (!snapshot && options.snapshotId !== undefined) {
    throw new IcebergTableNotFoundError(
      catalog.displayName,
      `has no snapshot ${options.snapshotId} (expired, or never made)`,
    );
  }
  const schema =
    metadata.schemas.find((s) => s["schema-id"] === snapshot?.["schema-id"]) ?? currentSchema(metadata);
  const files = (await liveEntries(storage, snapshot ?? null))
    .map((entry) => ({
      uri: entry.data_file.file_path,
      partition: { ...entry.data_file.partition },
      size: entry.data_file.file_size_in_bytes,
      rows: entry.data_file.record_count,
    }))
    .sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  return {
    uri: catalog.tableUri,
    metadata,
    metadataLocation: state.metadataLocation,
    snapshotId: snapshot?.["snapshot-id"] ?? null,
    sequenceNumber: snapshot?.["sequence-number"] ?? 0,
    schema,
    partitionColumns: defaultSpec(metadata).map((field) => field.name),
    files,
    history: () => icebergHistory(metadata),
  };
}

export function icebergHistory(metadata: IcebergTableMetadata): IcebergHistoryEntry[] {
  const current = metadata["current-snapshot-id"];
  return [...metadata.snapshots]
    .sort((a, b) => a["sequence-number"] - b["sequence-number"])
    .map((snapshot) => {
      const number = (key: string) => Number(snapshot.summary[key] ?? 0);
      return {
        snapshotId: snapshot["snapshot-id"],
        sequenceNumber: snapshot["sequence-number"],
        timestamp: snapshot["timestamp-ms"],
        operation: snapshot.summary.operation,
        projectId: snapshot.summary[PROJECT_ID_PROPERTY] ?? null,
        rowsAdded: number("added-records"),
        rowsRemoved: number("deleted-records"),
        filesAdded: number("added-data-files"),
        filesRemoved: number("deleted-data-files"),
        current: snapshot["snapshot-id"] === current,
      };
    });
}
