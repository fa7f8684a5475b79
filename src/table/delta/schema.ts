/**
 * Delta table schemas (PROTOCOL.md, "Schema Serialization Format"): Spark's JSON struct types, built from a
 * Parquet footer's schema, merged across runs, and the partition values serialised per the protocol.
 *
 * Timestamps: Parquet `TIMESTAMP(isAdjustedToUTC=true)` (polars `Datetime(unit, "UTC")`) is Delta
 * `timestamp`. A naive `TIMESTAMP(isAdjustedToUTC=false)` (polars `Datetime(unit)`) is `timestamp_ntz`,
 * which the protocol only allows with the `timestampNtz` table feature (reader 3, writer 7): such a table
 * gets that protocol, every other table stays at reader 1 / writer 2. Nanosecond timestamps have no Delta
 * type (Delta is microseconds) and are refused, naming the column.
 */
import type { FileMetaData, SchemaTree } from "hyparquet";
import { parquetSchema } from "hyparquet";
import { z } from "zod";
import { formatZodIssues } from "../../errors.js";
import { DeltaInputError, DeltaLogError, DeltaSchemaError } from "./errors.js";

export type DeltaPrimitiveType =
  | "string"
  | "long"
  | "integer"
  | "short"
  | "byte"
  | "float"
  | "double"
  | "boolean"
  | "binary"
  | "date"
  | "timestamp"
  | "timestamp_ntz"
  | `decimal(${number},${number})`;

export interface DeltaStructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
export interface DeltaStructType {
  type: "struct";
  fields: DeltaStructField[];
}
export interface DeltaArrayType {
  type: "array";
  elementType: DeltaType;
  containsNull: boolean;
}
export interface DeltaMapType {
  type: "map";
  keyType: DeltaType;
  valueType: DeltaType;
  valueContainsNull: boolean;
}
export type DeltaType = DeltaPrimitiveType | DeltaStructType | DeltaArrayType | DeltaMapType;

const PRIMITIVE =
  /^(string|long|integer|short|byte|float|double|boolean|binary|date|timestamp|timestamp_ntz|decimal\(\d+,\s*\d+\))$/;

const typeSchema: z.ZodType<DeltaType> = z.lazy(() =>
  z.union([
    z.string().regex(PRIMITIVE, "not a supported Delta primitive type") as z.ZodType<DeltaPrimitiveType>,
    structSchema,
    z.looseObject({ type: z.literal("array"), elementType: typeSchema, containsNull: z.boolean() }),
    z.looseObject({
      type: z.literal("map"),
      keyType: typeSchema,
      valueType: typeSchema,
      valueContainsNull: z.boolean(),
    }),
  ]),
);
const structSchema: z.ZodType<DeltaStructType> = z.lazy(() =>
  z.looseObject({
    type: z.literal("struct"),
    fields: z.array(
      z.looseObject({
        name: z.string(),
        type: typeSchema,
        nullable: z.boolean(),
        metadata: z.record(z.string(), z.unknown()).default({}),
      }),
    ),
  }),
);

/** Parses a `metaData.schemaString`; `source` names the log file for the error. */
export function parseDeltaSchema(schemaString: string, source: string): DeltaStructType {
  let json: unknown;
  try {
    json = JSON.parse(schemaString);
  } catch (error) {
    throw new DeltaLogError(`${source}: metaData.schemaString is not JSON`, { cause: error });
  }
  const parsed = structSchema.safeParse(json);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error.issues).map((issue) => `schemaString.${issue}`);
    throw new DeltaLogError(`${source}: ${issues.join("; ")}`);
  }
  return parsed.data;
}

/** A readable name for messages: `long`, `array<string>`, `struct<a: long, b: string>`. */
export function typeName(type: DeltaType): string {
  if (typeof type === "string") return type;
  if (type.type === "array") return `array<${typeName(type.elementType)}>`;
  if (type.type === "map") return `map<${typeName(type.keyType)}, ${typeName(type.valueType)}>`;
  return `struct<${type.fields.map((f) => `${f.name}: ${typeName(f.type)}`).join(", ")}>`;
}

/** The Delta schema of a Parquet file's columns, from its footer. `source` names the file in errors. */
export function deltaSchemaFromParquet(metadata: FileMetaData, source: string): DeltaStructType {
  const root = parquetSchema(metadata);
  return { type: "struct", fields: root.children.map((child) => fieldOf(child, source)) };
}

function fieldOf(node: SchemaTree, source: string): DeltaStructField {
  return {
    name: node.element.name,
    type: typeOf(node, source),
    nullable: node.element.repetition_type !== "REQUIRED",
    metadata: {},
  };
}

function typeOf(node: SchemaTree, source: string): DeltaType {
  const { element } = node;
  const logical = element.logical_type;
  const column = node.path.join(".");
  const unsupported = (what: string): never => {
    throw new DeltaInputError(`Column "${column}" of ${source} is ${what}, which has no Delta Lake type`);
  };
  if (element.repetition_type === "REPEATED" && node.children.length === 0) {
    // A bare repeated primitive is Parquet's 1-level list.
    return { type: "array", elementType: primitiveOf(node, unsupported), containsNull: false };
  }
  if (node.children.length === 0) return primitiveOf(node, unsupported);
  if (logical?.type === "LIST" || element.converted_type === "LIST") {
    const repeated = node.children[0];
    if (!repeated) return unsupported("an empty LIST group");
    // 3-level lists wrap the element in a repeated group of one child; in the older 2-level forms the
    // repeated node is the element itself (a primitive, or a struct of several fields or named "array").
    const threeLevel = repeated.children.length === 1 && repeated.element.name !== "array";
    const item = threeLevel ? repeated.children[0]! : repeated;
    const elementType = threeLevel
      ? typeOf(item, source)
      : repeated.children.length > 0
        ? structOf(repeated, source)
        : primitiveOf(repeated, unsupported);
    const containsNull = threeLevel && item.element.repetition_type !== "REQUIRED";
    return { type: "array", elementType, containsNull };
  }
  if (
    logical?.type === "MAP" ||
    element.converted_type === "MAP" ||
    element.converted_type === "MAP_KEY_VALUE"
  ) {
    const entry = node.children[0];
    const key = entry?.children[0];
    const value = entry?.children[1];
    if (!key || !value) return unsupported("a MAP group without key and value");
    return {
      type: "map",
      keyType: typeOf(key, source),
      valueType: typeOf(value, source),
      valueContainsNull: value.element.repetition_type !== "REQUIRED",
    };
  }
  return structOf(node, source);
}

function structOf(node: SchemaTree, source: string): DeltaStructType {
  return { type: "struct", fields: node.children.map((child) => fieldOf(child, source)) };
}

function primitiveOf(node: SchemaTree, unsupported: (what: string) => never): DeltaPrimitiveType {
  const { element } = node;
  const logical = element.logical_type;
  const converted = element.converted_type;
  const decimal = (): DeltaPrimitiveType => {
    const precision = logical?.type === "DECIMAL" ? logical.precision : element.precision;
    const scale = logical?.type === "DECIMAL" ? logical.scale : element.scale;
    if (precision === undefined || precision > 38) return unsupported(`DECIMAL(${precision}, ${scale})`);
    return `decimal(${precision},${scale ?? 0})`;
  };
  if (logical?.type === "DECIMAL" || converted === "DECIMAL") return decimal();
  switch (element.type) {
    case "BOOLEAN":
      return "boolean";
    case "INT32": {
      if (logical?.type === "DATE" || converted === "DATE") return "date";
      if (logical?.type === "TIME" || converted === "TIME_MILLIS") return unsupported("a time of day");
      const width = logical?.type === "INTEGER" ? logical.bitWidth : bitWidthOf(converted);
      const signed = logical?.type === "INTEGER" ? logical.isSigned : !converted?.startsWith("UINT");
      // Delta has no unsigned types: an unsigned column gets the next wider signed type, as Spark reads it.
      const bits = signed ? width : width * 2;
      return bits <= 8 ? "byte" : bits <= 16 ? "short" : bits <= 32 ? "integer" : "long";
    }
    case "INT64": {
      if (logical?.type === "TIMESTAMP") {
        if (logical.unit === "NANOS")
          return unsupported("a nanosecond timestamp (Delta timestamps are microseconds)");
        return logical.isAdjustedToUTC ? "timestamp" : "timestamp_ntz";
      }
      if (converted === "TIMESTAMP_MILLIS" || converted === "TIMESTAMP_MICROS") return "timestamp";
      if (logical?.type === "TIME" || converted === "TIME_MICROS") return unsupported("a time of day");
      const unsigned = logical?.type === "INTEGER" ? !logical.isSigned : converted === "UINT_64";
      return unsigned ? "decimal(20,0)" : "long";
    }
    case "INT96":
      return "timestamp";
    case "FLOAT":
      return "float";
    case "DOUBLE":
      return "double";
    case "BYTE_ARRAY":
      if (logical?.type === "STRING" || logical?.type === "ENUM" || logical?.type === "JSON") return "string";
      if (converted === "UTF8" || converted === "ENUM" || converted === "JSON") return "string";
      return "binary";
    case "FIXED_LEN_BYTE_ARRAY":
      if (logical?.type === "FLOAT16") return unsupported("a 16-bit float");
      return "binary";
    default:
      return unsupported(`of Parquet type ${element.type}`);
  }
}

function bitWidthOf(converted: string | undefined): number {
  const match = /^U?INT_(8|16|32|64)$/.exec(converted ?? "");
  return match ? Number(match[1]) : 32;
}

export interface SchemaMerge {
  schema: DeltaStructType;
  /** True when the merged schema differs from the table's: the commit then carries a metaData update. */
  changed: boolean;
}

/**
 * The table schema extended by a file's: a column the table lacks is appended as nullable (nested struct
 * fields too); a column the file lacks must be nullable in the table (readers fill nulls), so it becomes
 * nullable. Any type difference throws DeltaSchemaError naming the column and both types: without the
 * typeWidening table feature the protocol requires files to hold the table's exact types. Names match
 * case-insensitively, as the protocol asks (column names are unique regardless of case).
 */
export function mergeSchema(
  table: DeltaStructType,
  file: DeltaStructType,
  context: { tableUri: string; source: string },
): SchemaMerge {
  let changed = false;
  const mergeStruct = (
    tableStruct: DeltaStructType,
    fileStruct: DeltaStructType,
    prefix: string,
  ): DeltaStructType => {
    const fileByName = new Map(fileStruct.fields.map((field) => [field.name.toLowerCase(), field]));
    const seen = new Set<string>();
    const fields = tableStruct.fields.map((tableField): DeltaStructField => {
      const key = tableField.name.toLowerCase();
      seen.add(key);
      const fileField = fileByName.get(key);
      if (!fileField) {
        if (tableField.nullable) return tableField;
        changed = true;
        return { ...tableField, nullable: true };
      }
      const column = prefix + tableField.name;
      let type = tableField.type;
      if (
        typeof tableField.type === "object" &&
        tableField.type.type === "struct" &&
        typeof fileField.type === "object" &&
        fileField.type.type === "struct"
      ) {
        type = mergeStruct(tableField.type, fileField.type, `${column}.`);
      } else if (!sameType(tableField.type, fileField.type)) {
        throw new DeltaSchemaError(
          context.tableUri,
          column,
          typeName(tableField.type),
          typeName(fileField.type),
          context.source,
        );
      }
      const nullable = tableField.nullable || fileField.nullable;
      if (nullable !== tableField.nullable) changed = true;
      return { ...tableField, type, nullable };
    });
    for (const fileField of fileStruct.fields) {
      if (seen.has(fileField.name.toLowerCase())) continue;
      changed = true;
      fields.push({ ...fileField, nullable: true });
    }
    return { ...tableStruct, fields };
  };
  const schema = mergeStruct(table, file, "");
  return { schema, changed };
}

function sameType(a: DeltaType, b: DeltaType): boolean {
  if (typeof a === "string" || typeof b === "string") return normalizePrimitive(a) === normalizePrimitive(b);
  if (a.type === "array" && b.type === "array") return sameType(a.elementType, b.elementType);
  if (a.type === "map" && b.type === "map")
    return sameType(a.keyType, b.keyType) && sameType(a.valueType, b.valueType);
  if (a.type === "struct" && b.type === "struct") {
    return (
      a.fields.length === b.fields.length &&
      a.fields.every(
        (field, i) =>
          field.name.toLowerCase() === b.fields[i]!.name.toLowerCase() &&
          sameType(field.type, b.fields[i]!.type),
      )
    );
  }
  return false;
}

function normalizePrimitive(type: DeltaType): string {
  return typeof type === "string" ? type.replace(/\s+/g, "") : JSON.stringify(type);
}

/** True when any column, at any depth, is `timestamp_ntz` (the table then needs the timestampNtz feature). */
export function usesTimestampNtz(type: DeltaType): boolean {
  if (typeof type === "string") return type === "timestamp_ntz";
  if (type.type === "array") return usesTimestampNtz(type.elementType);
  if (type.type === "map") return usesTimestampNtz(type.keyType) || usesTimestampNtz(type.valueType);
  return type.fields.some((field) => usesTimestampNtz(field.type));
}

/**
 * A partition value as the protocol serialises it ("Partition Value Serialization"), from the text in the
 * file's Hive path: null (and "") stay JSON null; numbers, dates and booleans are checked and kept in their
 * canonical text; timestamps become ISO 8601 in UTC with microseconds, as the protocol recommends.
 */
export function serializePartitionValue(
  raw: string | null,
  type: DeltaType,
  context: { column: string; file: string },
): string | null {
  if (raw === null || raw === "") return null;
  const invalid = (expected: string): never => {
    throw new DeltaInputError(
      `Partition value "${raw}" of column "${context.column}" in ${context.file} is not ${expected}`,
    );
  };
  if (typeof type !== "string") return invalid("a primitive value (partition columns must be primitive)");
  switch (type) {
    case "string":
      return raw;
    case "byte":
    case "short":
    case "integer":
    case "long":
      return /^-?\d+$/.test(raw) ? BigInt(raw).toString() : invalid(`an integer (${type})`);
    case "float":
    case "double":
      return Number.isNaN(Number(raw)) && raw !== "NaN" ? invalid(`a number (${type})`) : raw;
    case "boolean":
      return raw === "true" || raw === "false" ? raw : invalid("true or false");
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(raw) ? raw : invalid("a date (YYYY-MM-DD)");
    case "timestamp":
    case "timestamp_ntz":
      return (
        timestampText(raw, type === "timestamp") ?? invalid("a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])")
      );
    case "binary":
      return raw;
    default:
      return /^-?\d+(\.\d+)?$/.test(raw) ? raw : invalid(type);
  }
}

/** `2024-06-01 12:00:00[.123456][Z|+hh:mm]` -> `2024-06-01T12:00:00.123456Z` (UTC) or `2024-06-01 12:00:00.123456`. */
function timestampText(raw: string, utc: boolean): string | null {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw);
  if (!match) return null;
  const [, date, time, fraction = "", zone] = match;
  const micros = fraction.padEnd(6, "0").slice(0, 6);
  if (!utc) return zone ? null : `${date} ${time}.${micros}`;
  const millis = Date.parse(`${date}T${time}${zone ?? "Z"}`);
  if (Number.isNaN(millis)) return null;
  return `${new Date(millis).toISOString().slice(0, 19)}.${micros}Z`;
}
