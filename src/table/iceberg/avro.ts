/**
 * Manifests and manifest lists as Avro object container files, written and read with avsc. The Avro
 * schemas are the spec's `manifest_entry` / `data_file` (v2) and `manifest_file` structs, with each
 * field's id as its `field-id` and maps with int keys as arrays of `k<key-id>_v<value-id>` records with
 * the `map` logical type (spec, Appendix A "Avro"). The schema objects are written to the file header as
 * given, ids included (avsc's own schema export would drop them).
 */
import { PassThrough } from "node:stream";
import avro from "avsc";
import { IcebergMetadataError } from "./errors.js";
import type { IcebergPrimitiveType, IcebergType } from "./schema.js";

type AvroSchema = Record<string, unknown> | string | unknown[];

const optional = (name: string, type: AvroSchema, fieldId: number) => ({
  name,
  type: ["null", type],
  default: null,
  "field-id": fieldId,
});
const required = (name: string, type: AvroSchema, fieldId: number) => ({ name, type, "field-id": fieldId });
const intMap = (keyId: number, valueId: number, valueType: string) => ({
  type: "array",
  logicalType: "map",
  items: {
    type: "record",
    name: `k${keyId}_v${valueId}`,
    fields: [required("key", "int", keyId), required("value", valueType, valueId)],
  },
});

export interface PartitionFieldType {
  name: string;
  fieldId: number;
  type: IcebergType;
}

/** The Avro type of a partition value (spec, Appendix A), for the `r102` partition tuple. */
function avroPrimitive(type: IcebergType): AvroSchema {
  switch (type as IcebergPrimitiveType) {
    case "boolean":
    case "int":
    case "long":
    case "float":
    case "double":
    case "string":
      return type as string;
    case "binary":
      return "bytes";
    case "date":
      return { type: "int", logicalType: "date" };
    case "timestamp":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": false };
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": true };
    default:
      throw new IcebergMetadataError(`partition columns of type ${JSON.stringify(type)} are not supported`);
  }
}

/** The v2 `manifest_entry` schema for a partition spec's fields. */
export function manifestEntrySchema(partitionFields: readonly PartitionFieldType[]): Record<string, unknown> {
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      required("status", "int", 0),
      optional("snapshot_id", "long", 1),
      optional("sequence_number", "long", 3),
      optional("file_sequence_number", "long", 4),
      required(
        "data_file",
        {
          type: "record",
          name: "r2",
          fields: [
            required("content", "int", 134),
            required("file_path", "string", 100),
            required("file_format", "string", 101),
            required(
              "partition",
              {
                type: "record",
                name: "r102",
                fields: partitionFields.map((field) =>
                  optional(field.name, avroPrimitive(field.type), field.fieldId),
                ),
              },
              102,
            ),
            required("record_count", "long", 103),
            required("file_size_in_bytes", "long", 104),
            optional("column_sizes", intMap(117, 118, "long"), 108),
            optional("value_counts", intMap(119, 120, "long"), 109),
            optional("null_value_counts", intMap(121, 122, "long"), 110),
            optional("nan_value_counts", intMap(138, 139, "long"), 137),
            optional("lower_bounds", intMap(126, 127, "bytes"), 125),
            optional("upper_bounds", intMap(129, 130, "bytes"), 128),
            optional("key_metadata", "bytes", 131),
            optional("split_offsets", { type: "array", items: "long", "element-id": 133 }, 132),
            optional("equality_ids", { type: "array", items: "int", "element-id": 136 }, 135),
            optional("sort_order_id", "int", 140),
            optional("referenced_data_file", "string", 143),
          ],
        },
        2,
      ),
    ],
  };
}

/** The v2 `manifest_file` schema of manifest lists. */
export const MANIFEST_FILE_SCHEMA: Record<string, unknown> = {
  type: "record",
  name: "manifest_file",
  fields: [
    required("manifest_path", "string", 500),
    required("manifest_length", "long", 501),
    required("partition_spec_id", "int", 502),
    required("content", "int", 517),
    required("sequence_number", "long", 515),
    required("min_sequence_number", "long", 516),
    required("added_snapshot_id", "long", 503),
    required("added_files_count", "int", 504),
    required("existing_files_count", "int", 505),
    required("deleted_files_count", "int", 506),
    required("added_rows_count", "long", 512),
    required("existing_rows_count", "long", 513),
    required("deleted_rows_count", "long", 514),
    optional(
      "partitions",
      {
        type: "array",
        items: {
          type: "record",
          name: "r508",
          fields: [
            required("contains_null", "boolean", 509),
            optional("contains_nan", "boolean", 518),
            optional("lower_bound", "bytes", 510),
            optional("upper_bound", "bytes", 511),
          ],
        },
        "element-id": 508,
      },
      507,
    ),
    optional("key_metadata", "bytes", 519),
  ],
};

/** An Avro object container file of `records`, with the string `metadata` in its header. */
export async function encodeAvroContainer(
  schema: Record<string, unknown>,
  records: readonly unknown[],
  metadata: Readonly<Record<string, string>>,
): Promise<Buffer> {
  // `metadata` is a BlockEncoder option that avsc's typings leave out.
  const options = {
    codec: "deflate",
    metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value)])),
  };
  const encoder = new avro.streams.BlockEncoder(schema as unknown as avro.Schema, options);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
    encoder.on("end", () => resolve());
    encoder.on("error", reject);
    encoder.on("typeError", (error: Error) => reject(error));
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** The records and header metadata of an Avro container file; `source` names it in errors. */
export async function decodeAvroContainer<T>(
  bytes: Buffer,
  source: string,
): Promise<{ records: T[]; metadata: Record<string, string> }> {
  const decoder = new avro.streams.BlockDecoder();
  const records: T[] = [];
  let metadata: Record<string, string> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      decoder.on("metadata", (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
        metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
      });
      decoder.on("data", (record: T) => records.push(record));
      decoder.on("end", () => resolve());
      decoder.on("error", reject);
      const input = new PassThrough();
      input.on("error", reject);
      input.pipe(decoder);
      input.end(bytes);
    });
  } catch (error) {
    throw new IcebergMetadataError(
      `${source} is not a readable Avro container file: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { records, metadata };
}
