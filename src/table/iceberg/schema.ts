/**
 * Iceberg schemas (spec "Schemas and Data Types", Appendix C): every field, list element and map key/value
 * has an id; a column added later gets the next unused id (`last-column-id` + 1), and ids are never reused.
 * The columns come from the Parquet footers through the Delta type mapping (one Parquet reading for both
 * formats), then map to Iceberg types: UTC timestamps are `timestamptz`, naive ones `timestamp`.
 * Every field is optional: a later run's files may hold nulls where an earlier run's had none.
 */
import type { FileMetaData } from "hyparquet";
import { z } from "zod";
import { formatZodIssues } from "../../errors.js";
import { DeltaInputError } from "../delta/errors.js";
import {
  type DeltaPrimitiveType,
  type DeltaStructType,
  type DeltaType,
  deltaSchemaFromParquet,
} from "../delta/schema.js";
import { IcebergInputError, IcebergMetadataError, IcebergSchemaError } from "./errors.js";

export type IcebergPrimitiveType =
  | "boolean"
  | "int"
  | "long"
  | "float"
  | "double"
  | "date"
  | "timestamp"
  | "timestamptz"
  | "string"
  | "binary"
  | `decimal(${number}, ${number})`;

export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
}
export interface IcebergStructType {
  type: "struct";
  fields: IcebergField[];
}
export interface IcebergListType {
  type: "list";
  "element-id": number;
  element: IcebergType;
  "element-required": boolean;
}
export interface IcebergMapType {
  type: "map";
  "key-id": number;
  key: IcebergType;
  "value-id": number;
  value: IcebergType;
  "value-required": boolean;
}
export type IcebergType = IcebergPrimitiveType | IcebergStructType | IcebergListType | IcebergMapType;

export interface IcebergSchema extends IcebergStructType {
  "schema-id": number;
}

const typeSchema: z.ZodType<IcebergType> = z.lazy(() =>
  z.union([
    z.string() as z.ZodType<IcebergPrimitiveType>,
    structSchema,
    z.looseObject({
      type: z.literal("list"),
      "element-id": z.number().int(),
      element: typeSchema,
      "element-required": z.boolean(),
    }),
    z.looseObject({
      type: z.literal("map"),
      "key-id": z.number().int(),
      key: typeSchema,
      "value-id": z.number().int(),
      value: typeSchema,
      "value-required": z.boolean(),
    }),
  ]),
);
const structSchema: z.ZodType<IcebergStructType> = z.lazy(() =>
  z.looseObject({
    type: z.literal("struct"),
    fields: z.array(
      z.looseObject({ id: z.number().int(), name: z.string(), required: z.boolean(), type: typeSchema }),
    ),
  }),
);
export const icebergSchemaSchema = z.looseObject({
  type: z.literal("struct"),
  "schema-id": z.number().int(),
  fields: z.array(
    z.looseObject({ id: z.number().int(), name: z.string(), required: z.boolean(), type: typeSchema }),
  ),
}) as unknown as z.ZodType<IcebergSchema>;

export function parseIcebergSchema(json: unknown, source: string): IcebergSchema {
  const parsed = icebergSchemaSchema.safeParse(json);
  if (!parsed.success) {
    throw new IcebergMetadataError(`${source}: ${formatZodIssues(parsed.error.issues).join("; ")}`);
  }
  return parsed.data;
}

/** A readable, id-free name for messages and comparisons: `long`, `list<string>`, `struct<a: long>`. */
export function icebergTypeName(type: IcebergType): string {
  if (typeof type === "string") return type;
  if (type.type === "list") return `list<${icebergTypeName(type.element)}>`;
  if (type.type === "map") return `map<${icebergTypeName(type.key)}, ${icebergTypeName(type.value)}>`;
  return `struct<${type.fields.map((f) => `${f.name}: ${icebergTypeName(f.type)}`).join(", ")}>`;
}

/** The Parquet file's columns as a Delta struct (ids come when they join a table's schema). */
export function columnsOfParquet(footer: FileMetaData, source: string): DeltaStructType {
  try {
    return deltaSchemaFromParquet(footer, source);
  } catch (error) {
    if (error instanceof DeltaInputError) {
      throw new IcebergInputError(error.message.replace("no Delta Lake type", "no Iceberg v2 type"));
    }
    throw error;
  }
}

/** The primitive types Delta and Iceberg name alike; `SPELLED_APART` pairs the others (Delta, Iceberg). */
const SAME_NAME = new Set<string>(["long", "float", "double", "boolean", "binary", "date", "string"]);
const SPELLED_APART: ReadonlyArray<readonly [DeltaPrimitiveType, IcebergPrimitiveType]> = [
  ["integer", "int"],
  ["timestamp", "timestamptz"],
  ["timestamp_ntz", "timestamp"],
];
const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/;

export function icebergPrimitiveOf(type: DeltaPrimitiveType): IcebergPrimitiveType {
  // Iceberg's narrowest integer is int.
  const delta = type === "byte" || type === "short" ? "integer" : type;
  if (SAME_NAME.has(delta)) return delta as IcebergPrimitiveType;
  const renamed = SPELLED_APART.find(([name]) => name === delta);
  if (renamed) return renamed[1];
  const [, precision, scale] = DECIMAL.exec(type) ?? [];
  return `decimal(${Number(precision)}, ${Number(scale)})`;
}

/**
 * The inverse of icebergPrimitiveOf: the Delta type an Iceberg primitive column reads as; null for the
 * Iceberg types Delta has none for (time, uuid, fixed), which read as strings.
 */
export function deltaPrimitiveOf(type: string): DeltaPrimitiveType | null {
  if (SAME_NAME.has(type)) return type as DeltaPrimitiveType;
  const renamed = SPELLED_APART.find(([, name]) => name === type);
  if (renamed) return renamed[0];
  const decimal = DECIMAL.exec(type);
  return decimal ? `decimal(${Number(decimal[1])},${Number(decimal[2])})` : null;
}

/** Converts a Delta type, numbering every nested id from `nextId()`. */
function icebergTypeOf(type: DeltaType, nextId: () => number): IcebergType {
  if (typeof type === "string") return icebergPrimitiveOf(type);
  if (type.type === "struct") {
    return {
      type: "struct",
      fields: type.fields.map((field) => ({
        id: nextId(),
        name: field.name,
        required: false,
        type: icebergTypeOf(field.type, nextId),
      })),
    };
  }
  if (type.type === "array") {
    const elementId = nextId();
    return {
      type: "list",
      "element-id": elementId,
      element: icebergTypeOf(type.elementType, nextId),
      "element-required": !type.containsNull,
    };
  }
  const keyId = nextId();
  const valueId = nextId();
  return {
    type: "map",
    "key-id": keyId,
    key: icebergTypeOf(type.keyType, nextId),
    "value-id": valueId,
    value: icebergTypeOf(type.valueType, nextId),
    "value-required": !type.valueContainsNull,
  };
}

/** A file type that an Iceberg reader promotes to the table's type (the spec's allowed promotions). */
function readableAs(fileType: string, tableType: string): boolean {
  return (
    fileType === tableType ||
    (fileType === "int" && tableType === "long") ||
    (fileType === "float" && tableType === "double")
  );
}

export interface SchemaMerge {
  fields: IcebergField[];
  lastColumnId: number;
  /** True when a column was added: the table needs a new schema. */
  changed: boolean;
}

/**
 * The table's columns after adding the files' new ones (appended with new ids). A column whose type
 * differs, beyond the spec's promotions, is refused naming both types and the file.
 */
export function mergeColumns(
  table: string,
  current: readonly IcebergField[],
  lastColumnId: number,
  files: ReadonlyArray<{ uri: string; columns: DeltaStructType }>,
): SchemaMerge {
  const fields = [...current];
  let last = lastColumnId;
  const nextId = () => ++last;
  let changed = false;
  for (const file of files) {
    for (const column of file.columns.fields) {
      const existing = fields.find((field) => field.name === column.name);
      const converted = icebergTypeOf(column.type, () => 0);
      if (existing) {
        const tableType = icebergTypeName(existing.type);
        const fileType = icebergTypeName(converted);
        if (!readableAs(fileType, tableType)) {
          throw new IcebergSchemaError(table, column.name, tableType, fileType, file.uri);
        }
        continue;
      }
      fields.push({
        id: nextId(),
        name: column.name,
        required: false,
        type: icebergTypeOf(column.type, nextId),
      });
      changed = true;
    }
  }
  return { fields, lastColumnId: last, changed };
}

interface NameMapping {
  "field-id": number;
  names: string[];
  fields?: NameMapping[];
}

/**
 * `schema.name-mapping.default`: how readers find a field in files written without Iceberg field ids
 * (polars writes none): by its name, at every nesting level.
 */
export function nameMappingOf(fields: readonly IcebergField[]): string {
  const mapType = (type: IcebergType): NameMapping[] | undefined => {
    if (typeof type === "string") return undefined;
    if (type.type === "struct") return mapFields(type.fields);
    if (type.type === "list") return [entry(type["element-id"], "element", type.element)];
    return [entry(type["key-id"], "key", type.key), entry(type["value-id"], "value", type.value)];
  };
  const entry = (id: number, name: string, type: IcebergType): NameMapping => {
    const nested = mapType(type);
    return { "field-id": id, names: [name], ...(nested ? { fields: nested } : {}) };
  };
  const mapFields = (list: readonly IcebergField[]) => list.map((f) => entry(f.id, f.name, f.type));
  return JSON.stringify(mapFields(fields));
}
