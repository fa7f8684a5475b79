/**
 * Table metadata JSON (spec "Table Metadata", Appendix C), format version 2: the fields this library writes,
 * parsed with zod when read (unknown fields kept), and the summary fields of snapshots (Appendix F).
 */
import { z } from "zod";
import { formatZodIssues } from "../../errors.js";
import { IcebergMetadataError } from "./errors.js";
import { type IcebergSchema, icebergSchemaSchema } from "./schema.js";

/** The snapshot summary property naming the snaplake project that committed it: a re-run finds it. */
export const PROJECT_ID_PROPERTY = "snaplake.project-id";
export const NAME_MAPPING_PROPERTY = "schema.name-mapping.default";
/**
 * `snaplake.committed.<projectId>`: a table property naming the snapshot that holds a project's commit, as
 * `{"snapshot-id":…,"sequence-number":…}`. Properties outlive expired snapshots, so a re-run after a vacuum
 * still commits nothing.
 */
export const COMMITTED_PROPERTY_PREFIX = "snaplake.committed.";

/**
 * Table properties of the spec's "Table Properties" that snaplake's commits follow. Deleting old metadata
 * files is off by default in the spec; snaplake tables turn it on (new tables get the property written, and
 * a table without it is treated as on): otherwise every commit leaves its whole metadata JSON behind.
 */
export const TABLE_PROPERTIES = {
  deleteMetadataAfterCommit: { name: "write.metadata.delete-after-commit.enabled", default: true },
  previousMetadataVersionsMax: { name: "write.metadata.previous-versions-max", default: 100 },
  manifestMergeEnabled: { name: "commit.manifest-merge.enabled", default: true },
  manifestMinCountToMerge: { name: "commit.manifest.min-count-to-merge", default: 100 },
  manifestTargetSizeBytes: { name: "commit.manifest.target-size-bytes", default: 8 * 1024 * 1024 },
} as const;

/** One of TABLE_PROPERTIES: its name and the default when a table does not set it. */
export type IcebergTableProperty = (typeof TABLE_PROPERTIES)[keyof typeof TABLE_PROPERTIES];

/** A table property's value, its default when unset; a value of the wrong kind is an error naming it. */
export function tableProperty<P extends IcebergTableProperty>(
  metadata: IcebergTableMetadata,
  property: P,
): P["default"] extends boolean ? boolean : number {
  type Value = P["default"] extends boolean ? boolean : number;
  const text = metadata.properties[property.name]?.trim();
  if (text === undefined) return property.default as Value;
  if (typeof property.default === "boolean") {
    if (/^(true|false)$/i.test(text)) return (text.toLowerCase() === "true") as Value;
  } else if (/^\d+$/.test(text)) return Number(text) as Value;
  throw new IcebergMetadataError(
    `Iceberg table ${metadata.location}: property ${property.name} is ${JSON.stringify(text)}, not ` +
      `${typeof property.default === "boolean" ? "true or false" : "a whole number"}`,
  );
}

export interface CommittedSnapshot {
  snapshotId: number;
  sequenceNumber: number;
}

/** The snapshot holding `projectId`'s commit: by the table property, else by a snapshot's summary. */
export function committedSnapshot(
  metadata: IcebergTableMetadata | undefined,
  projectId: string,
): CommittedSnapshot | null {
  if (!metadata) return null;
  const property = metadata.properties[COMMITTED_PROPERTY_PREFIX + projectId];
  if (property !== undefined) {
    const parsed = committedValue.safeParse(safeJson(property));
    if (!parsed.success) {
      throw new IcebergMetadataError(
        `Iceberg table ${metadata.location}: property ${COMMITTED_PROPERTY_PREFIX + projectId} is ${JSON.stringify(property)}, not {"snapshot-id":…,"sequence-number":…}`,
      );
    }
    return { snapshotId: parsed.data["snapshot-id"], sequenceNumber: parsed.data["sequence-number"] };
  }
  const snapshot = metadata.snapshots.find((s) => s.summary[PROJECT_ID_PROPERTY] === projectId);
  return snapshot
    ? { snapshotId: snapshot["snapshot-id"], sequenceNumber: snapshot["sequence-number"] }
    : null;
}

export function committedPropertyOf(projectId: string, committed: CommittedSnapshot): Record<string, string> {
  return {
    [COMMITTED_PROPERTY_PREFIX + projectId]: JSON.stringify({
      "snapshot-id": committed.snapshotId,
      "sequence-number": committed.sequenceNumber,
    }),
  };
}

const committedValue = z.object({ "snapshot-id": z.number().int(), "sequence-number": z.number().int() });

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const snapshotSchema = z.looseObject({
  "snapshot-id": z.number().int(),
  "parent-snapshot-id": z.number().int().optional(),
  "sequence-number": z.number().int(),
  "timestamp-ms": z.number().int(),
  "manifest-list": z.string(),
  summary: z.looseObject({ operation: z.string() }).catchall(z.string()),
  "schema-id": z.number().int().optional(),
});
export interface IcebergSnapshot {
  "snapshot-id": number;
  "parent-snapshot-id"?: number;
  "sequence-number": number;
  "timestamp-ms": number;
  "manifest-list": string;
  summary: { operation: string; [key: string]: string };
  "schema-id"?: number;
}

const partitionFieldSchema = z.looseObject({
  "source-id": z.number().int(),
  "field-id": z.number().int(),
  name: z.string(),
  transform: z.string(),
});
export interface IcebergPartitionField {
  "source-id": number;
  "field-id": number;
  name: string;
  transform: string;
}

const metadataSchema = z.looseObject({
  "format-version": z.literal(2),
  "table-uuid": z.string(),
  location: z.string(),
  "last-sequence-number": z.number().int(),
  "last-updated-ms": z.number().int(),
  "last-column-id": z.number().int(),
  schemas: z.array(icebergSchemaSchema).min(1),
  "current-schema-id": z.number().int(),
  "partition-specs": z.array(
    z.looseObject({ "spec-id": z.number().int(), fields: z.array(partitionFieldSchema) }),
  ),
  "default-spec-id": z.number().int(),
  "last-partition-id": z.number().int(),
  properties: z.record(z.string(), z.string()).default({}),
  "current-snapshot-id": z.number().int().nullable().optional(),
  snapshots: z.array(snapshotSchema).default([]),
  "snapshot-log": z
    .array(z.looseObject({ "timestamp-ms": z.number(), "snapshot-id": z.number() }))
    .default([]),
  "metadata-log": z
    .array(z.looseObject({ "timestamp-ms": z.number(), "metadata-file": z.string() }))
    .default([]),
  "sort-orders": z.array(z.looseObject({ "order-id": z.number().int(), fields: z.array(z.unknown()) })),
  "default-sort-order-id": z.number().int(),
  refs: z
    .record(z.string(), z.looseObject({ "snapshot-id": z.number().int(), type: z.enum(["branch", "tag"]) }))
    .optional(),
});
export interface IcebergTableMetadata {
  "format-version": 2;
  "table-uuid": string;
  location: string;
  "last-sequence-number": number;
  "last-updated-ms": number;
  "last-column-id": number;
  schemas: IcebergSchema[];
  "current-schema-id": number;
  "partition-specs": Array<{ "spec-id": number; fields: IcebergPartitionField[] }>;
  "default-spec-id": number;
  "last-partition-id": number;
  properties: Record<string, string>;
  "current-snapshot-id"?: number | null;
  snapshots: IcebergSnapshot[];
  "snapshot-log": Array<{ "timestamp-ms": number; "snapshot-id": number }>;
  "metadata-log": Array<{ "timestamp-ms": number; "metadata-file": string }>;
  "sort-orders": Array<{ "order-id": number; fields: unknown[] }>;
  "default-sort-order-id": number;
  refs?: Record<string, { "snapshot-id": number; type: "branch" | "tag" }>;
  [other: string]: unknown;
}

/** Parses a metadata file's text; `source` names the file in errors. Only format version 2 is read. */
export function parseTableMetadata(text: string, source: string): IcebergTableMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new IcebergMetadataError(`${source} is not JSON`, { cause: error });
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    throw new IcebergMetadataError(
      `${source}: ${formatZodIssues(parsed.error.issues).join("; ")} (snaplake reads Iceberg format version 2)`,
    );
  }
  return parsed.data as unknown as IcebergTableMetadata;
}

export function currentSchema(metadata: IcebergTableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  if (!schema) {
    throw new IcebergMetadataError(
      `Iceberg table ${metadata.location}: current-schema-id ${metadata["current-schema-id"]} is not in schemas`,
    );
  }
  return schema;
}

export function currentSnapshot(metadata: IcebergTableMetadata): IcebergSnapshot | null {
  const id = metadata["current-snapshot-id"];
  if (id === undefined || id === null || id === -1) return null;
  const snapshot = metadata.snapshots.find((s) => s["snapshot-id"] === id);
  if (!snapshot) {
    throw new IcebergMetadataError(
      `Iceberg table ${metadata.location}: current-snapshot-id ${id} is not in snapshots`,
    );
  }
  return snapshot;
}

export function defaultSpec(metadata: IcebergTableMetadata): IcebergPartitionField[] {
  const spec = metadata["partition-specs"].find((s) => s["spec-id"] === metadata["default-spec-id"]);
  if (!spec) {
    throw new IcebergMetadataError(
      `Iceberg table ${metadata.location}: default-spec-id ${metadata["default-spec-id"]} is not in partition-specs`,
    );
  }
  return spec.fields;
}
