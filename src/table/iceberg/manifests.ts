/**
 * Reading and writing a snapshot's manifest list and manifests. Entries read back have their snapshot id
 * and sequence numbers resolved (v2 inheritance: an ADDED entry's nulls come from its manifest's list
 * entry), so they can be carried into a rewritten manifest as EXISTING or DELETED with explicit values.
 */
import { randomUUID } from "node:crypto";
import type { Storage } from "../../storage/types.js";
import { joinUri } from "../../storage/uri.js";
import { SNAPLAKE_VERSION } from "../../version.js";
import {
  decodeAvroContainer,
  encodeAvroContainer,
  MANIFEST_FILE_SCHEMA,
  manifestEntrySchema,
  type PartitionFieldType,
} from "./avro.js";
import type { IcebergPartitionField, IcebergTableMetadata } from "./metadata.js";
import type { IcebergSchema } from "./schema.js";
import { type PartitionValue, serializePartitionValue } from "./values.js";

export const STATUS_EXISTING = 0;
export const STATUS_ADDED = 1;
export const STATUS_DELETED = 2;

type IntMap = Array<{ key: number; value: number }>;
type BytesMap = Array<{ key: number; value: Buffer }>;

export interface DataFileRecord {
  content: number;
  file_path: string;
  file_format: string;
  partition: Record<string, PartitionValue>;
  record_count: number;
  file_size_in_bytes: number;
  column_sizes: IntMap | null;
  value_counts: IntMap | null;
  null_value_counts: IntMap | null;
  nan_value_counts: IntMap | null;
  lower_bounds: BytesMap | null;
  upper_bounds: BytesMap | null;
  key_metadata: Buffer | null;
  split_offsets: number[] | null;
  equality_ids: number[] | null;
  sort_order_id: number | null;
  referenced_data_file: string | null;
}

export interface ManifestEntry {
  status: number;
  snapshot_id: number | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: DataFileRecord;
}

export interface ManifestFileRecord {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: number;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: Array<{
    contains_null: boolean;
    contains_nan: boolean | null;
    lower_bound: Buffer | null;
    upper_bound: Buffer | null;
  }> | null;
  key_metadata: Buffer | null;
}

export async function readManifestList(storage: Storage, uri: string): Promise<ManifestFileRecord[]> {
  return (await decodeAvroContainer<ManifestFileRecord>(await storage.get(uri), uri)).records;
}

/** A manifest's entries with inherited snapshot ids and sequence numbers filled in. */
export async function readManifestEntries(
  storage: Storage,
  manifest: ManifestFileRecord,
): Promise<ManifestEntry[]> {
  const { records } = await decodeAvroContainer<ManifestEntry>(
    await storage.get(manifest.manifest_path),
    manifest.manifest_path,
  );
  return records.map((entry) => ({
    status: entry.status,
    snapshot_id: entry.snapshot_id ?? manifest.added_snapshot_id,
    sequence_number: entry.sequence_number ?? manifest.sequence_number,
    file_sequence_number: entry.file_sequence_number ?? manifest.sequence_number,
    data_file: entry.data_file,
  }));
}

export function partitionFieldTypes(
  spec: readonly IcebergPartitionField[],
  schema: IcebergSchema,
): PartitionFieldType[] {
  return spec.map((field) => ({
    name: field.name,
    fieldId: field["field-id"],
    type: schema.fields.find((f) => f.id === field["source-id"])?.type ?? "string",
  }));
}

export interface WriteManifestInput {
  storage: Storage;
  metadata: IcebergTableMetadata;
  schema: IcebergSchema;
  specId: number;
  spec: readonly IcebergPartitionField[];
  snapshotId: number;
  sequenceNumber: number;
  entries: readonly ManifestEntry[];
}

/** Writes one data manifest and returns its manifest-list record (counts, partition summaries). */
export async function writeManifest(input: WriteManifestInput): Promise<ManifestFileRecord> {
  const { storage, metadata, schema, spec, entries } = input;
  const fields = partitionFieldTypes(spec, schema);
  const uri = joinUri(metadata.location, `metadata/${randomUUID()}-m0.avro`);
  const body = await encodeAvroContainer(manifestEntrySchema(fields), entries, {
    schema: JSON.stringify(schema),
    "schema-id": String(schema["schema-id"]),
    "partition-spec": JSON.stringify(spec),
    "partition-spec-id": String(input.specId),
    "format-version": "2",
    content: "data",
  });
  await storage.put(uri, body, { contentType: "application/octet-stream" });

  const count = (status: number) => entries.filter((e) => e.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, e) => sum + e.data_file.record_count, 0);
  const live = entries.filter((e) => e.status !== STATUS_DELETED);
  const liveSequences = live.map((e) => e.sequence_number ?? input.sequenceNumber);
  return {
    manifest_path: uri,
    manifest_length: body.length,
    partition_spec_id: input.specId,
    content: 0,
    sequence_number: input.sequenceNumber,
    min_sequence_number: liveSequences.length > 0 ? Math.min(...liveSequences) : input.sequenceNumber,
    added_snapshot_id: input.snapshotId,
    added_files_count: count(STATUS_ADDED).length,
    existing_files_count: count(STATUS_EXISTING).length,
    deleted_files_count: count(STATUS_DELETED).length,
    added_rows_count: rows(count(STATUS_ADDED)),
    existing_rows_count: rows(count(STATUS_EXISTING)),
    deleted_rows_count: rows(count(STATUS_DELETED)),
    partitions: fields.map((field) => {
      let lower: { value: Exclude<PartitionValue, null>; bytes: Buffer } | undefined;
      let upper: typeof lower;
      let containsNull = false;
      for (const entry of entries) {
        const value = entry.data_file.partition[field.name] ?? null;
        if (value === null) {
          containsNull = true;
          continue;
        }
        const bytes = serializePartitionValue(value, field.type);
        if (!bytes) continue;
        if (!lower || comparePartition(value, lower.value) < 0) lower = { value, bytes };
        if (!upper || comparePartition(value, upper.value) > 0) upper = { value, bytes };
      }
      return {
        contains_null: containsNull,
        contains_nan: false,
        lower_bound: lower?.bytes ?? null,
        upper_bound: upper?.bytes ?? null,
      };
    }),
    key_metadata: null,
  };
}

function comparePartition(a: Exclude<PartitionValue, null>, b: Exclude<PartitionValue, null>): number {
  if (typeof a === "string" && typeof b === "string") return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Writes a snapshot's manifest list and returns its URI. */
export async function writeManifestList(
  storage: Storage,
  location: string,
  snapshot: { snapshotId: number; parentSnapshotId: number | null; sequenceNumber: number },
  manifests: readonly ManifestFileRecord[],
): Promise<string> {
  const uri = joinUri(location, `metadata/snap-${snapshot.snapshotId}-1-${randomUUID()}.avro`);
  const body = await encodeAvroContainer(MANIFEST_FILE_SCHEMA, manifests, {
    "snapshot-id": String(snapshot.snapshotId),
    "parent-snapshot-id": snapshot.parentSnapshotId === null ? "null" : String(snapshot.parentSnapshotId),
    "sequence-number": String(snapshot.sequenceNumber),
    "format-version": "2",
    "snaplake.version": SNAPLAKE_VERSION,
  });
  await storage.put(uri, body, { contentType: "application/octet-stream" });
  return uri;
}

export interface MergeManifestsInput extends Omit<WriteManifestInput, "entries"> {
  /** The new snapshot's manifests, newest first (those this commit wrote, then the carried ones). */
  manifests: readonly ManifestFileRecord[];
  minCountToMerge: number;
  targetSizeBytes: number;
}

/**
 * Manifest merging, as the spec's `commit.manifest-merge.enabled` asks and Java's MergingSnapshotProducer
 * does it, so that an append's manifest list does not grow by one manifest per commit: the data manifests
 * of the default spec, oldest first, are packed into bins of up to `targetSizeBytes`; the bin holding this
 * commit's newest manifest is merged once it counts `minCountToMerge` manifests, any other bin of several
 * manifests always. A merged manifest holds its bin's live entries (earlier snapshots' as EXISTING) and
 * this snapshot's own entries as they are; earlier snapshots' DELETED entries are dropped.
 * Returns the manifests for the list (newest first) and those that no longer belong in it.
 */
export async function mergeManifests(
  input: MergeManifestsInput,
): Promise<{ manifests: ManifestFileRecord[]; replaced: ManifestFileRecord[] }> {
  const { manifests, snapshotId } = input;
  const mergeable = (m: ManifestFileRecord) => m.content === 0 && m.partition_spec_id === input.specId;
  const newest = manifests.find(mergeable);
  if (!newest) return { manifests: [...manifests], replaced: [] };

  const bins: ManifestFileRecord[][] = [];
  let bin: ManifestFileRecord[] = [];
  let binBytes = 0;
  for (const manifest of manifests.filter(mergeable).reverse()) {
    if (bin.length > 0 && binBytes + manifest.manifest_length > input.targetSizeBytes) {
      bins.push(bin);
      bin = [];
      binBytes = 0;
    }
    bin.push(manifest);
    binBytes += manifest.manifest_length;
  }
  bins.push(bin);

  const merged: ManifestFileRecord[] = [];
  const replaced: ManifestFileRecord[] = [];
  for (const oldestFirst of bins.reverse()) {
    const newestFirst = oldestFirst.reverse();
    const keep =
      newestFirst.length === 1 ||
      (newestFirst.includes(newest) && newestFirst.length < input.minCountToMerge);
    if (keep) {
      merged.push(...newestFirst);
      continue;
    }
    const entries: ManifestEntry[] = [];
    for (const manifest of newestFirst) {
      const ours = manifest.added_snapshot_id === snapshotId;
      for (const entry of await readManifestEntries(input.storage, manifest)) {
        if (ours && entry.status === STATUS_ADDED) {
          // Inherited from the merged manifest's list entry, as in the manifest it came from.
          entries.push({ ...entry, snapshot_id: null, sequence_number: null, file_sequence_number: null });
        } else if (ours) entries.push(entry);
        else if (entry.status !== STATUS_DELETED) entries.push({ ...entry, status: STATUS_EXISTING });
      }
    }
    merged.push(await writeManifest({ ...input, entries }));
    replaced.push(...newestFirst);
  }
  return { manifests: [...merged, ...manifests.filter((m) => !mergeable(m))], replaced };
}
