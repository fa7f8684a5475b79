/**
 * Column type names that read the same from a polars dtype and from a Parquet footer, so a lake schema can
 * be computed from footers alone and compared with frames and with the files written. Names follow polars:
 * "Int64", "String", "Datetime(us)", "List(Float64)", `Struct("a": Int64, "b c": String)` (field names as JSON
 * strings, since they may hold any character)... A time-zone aware datetime is "Datetime(us, tz)":
 * Parquet records only that its instants are UTC, not the zone, so the zone is kept from the data.
 */
import type { SchemaTree } from "hyparquet";
import pl from "nodejs-polars";

const SIMPLE: Record<string, () => pl.DataType> = {
  Boolean: () => pl.Bool,
  Int8: () => pl.Int8,
  Int16: () => pl.Int16,
  Int32: () => pl.Int32,
  Int64: () => pl.Int64,
  UInt8: () => pl.UInt8,
  UInt16: () => pl.UInt16,
  UInt32: () => pl.UInt32,
  UInt64: () => pl.UInt64,
  Float32: () => pl.Float32,
  Float64: () => pl.Float64,
  String: () => pl.Utf8,
  Date: () => pl.Date,
  Time: () => pl.Time,
  Null: () => pl.Null,
};

interface DatetimeLike {
  timeUnit?: string;
  timeZone?: string | null;
}
interface DecimalLike {
  precision?: number | null;
  scale?: number | null;
}

/** The type name of a polars dtype. */
export function typeNameOf(dtype: pl.DataType): string {
  const variant = dtype.variant as string;
  switch (variant) {
    case "Bool":
      return "Boolean";
    case "Utf8":
    case "String":
    case "Categorical":
    case "Enum":
      return "String";
    case "Datetime": {
      const { timeUnit, timeZone } = dtype as unknown as DatetimeLike;
      return `Datetime(${timeUnit}${timeZone ? ", tz" : ""})`;
    }
    case "Decimal": {
      const { precision, scale } = dtype as unknown as DecimalLike;
      return `Decimal(${precision ?? 38}, ${scale ?? 0})`;
    }
    case "List":
      return `List(${typeNameOf((dtype as unknown as { inner: pl.DataType[] }).inner[0]!)})`;
    case "Struct": {
      const fields = (dtype as unknown as { fields: Array<{ name: string; dtype: pl.DataType }> }).fields;
      return `Struct(${fields.map((f) => `${JSON.stringify(f.name)}: ${typeNameOf(f.dtype)}`).join(", ")})`;
    }
    default:
      return variant;
  }
}

/**
 * The polars dtype of a type name, or undefined for names polars can't cast to (structs and other nested
 * types). `current` is the column's dtype now: a time-zone aware datetime keeps its zone.
 */
export function dtypeOfTypeName(name: string, current?: pl.DataType): pl.DataType | undefined {
  const simple = SIMPLE[name];
  if (simple) return simple();
  const datetime = /^Datetime\((ms|us|ns)(, tz)?\)$/.exec(name);
  if (datetime) {
    const unit = datetime[1] as "ms" | "us" | "ns";
    if (!datetime[2]) return pl.Datetime(unit);
    const zone = current?.variant === "Datetime" ? (current as unknown as DatetimeLike).timeZone : null;
    return pl.Datetime(unit, zone ?? "UTC");
  }
  const decimal = /^Decimal\((\d+), (\d+)\)$/.exec(name);
  if (decimal) return pl.Decimal(Number(decimal[1]), Number(decimal[2]));
  const list = /^List\((.*)\)$/.exec(name);
  if (list) {
    const currentInner =
      current?.variant === "List" ? (current as unknown as { inner: pl.DataType[] }).inner[0] : undefined;
    const inner = dtypeOfTypeName(list[1]!, currentInner);
    return inner ? pl.List(inner) : undefined;
  }
  const struct = /^Struct\((.*)\)$/s.exec(name);
  if (struct) {
    const currentFields =
      current?.variant === "Struct"
        ? (current as unknown as { fields: Array<{ name: string; dtype: pl.DataType }> }).fields
        : [];
    const fields: pl.Field[] = [];
    for (const part of splitTopLevel(struct[1]!)) {
      const field = /^("(?:[^"\\]|\\.)*"): (.*)$/s.exec(part);
      if (!field) return undefined;
      const fieldName = JSON.parse(field[1]!) as string;
      const dtype = dtypeOfTypeName(field[2]!, currentFields.find((f) => f.name === fieldName)?.dtype);
      if (!dtype) return undefined;
      fields.push(new pl.Field(fieldName, dtype));
    }
    return pl.Struct(fields);
  }
  return undefined;
}

/** Splits `a, List(b), "c, d": e` at its top-level commas (not inside parentheses or JSON strings). */
function splitTopLevel(text: string): string[] {
  if (text.trim() === "") return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === "\\") i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === "(") depth++;
    else if (char === ")") depth--;
    else if (char === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

const TIME_UNITS: Record<string, string> = { MILLIS: "ms", MICROS: "us", NANOS: "ns" };

/** The type name of one column of a Parquet footer's schema tree (polars' mapping of Parquet types). */
export function footerTypeName(node: SchemaTree): string {
  const element = node.element;
  const logical = element.logical_type;
  if (node.children.length > 0) {
    if (logical?.type === "LIST" || element.converted_type === "LIST") {
      // The standard three levels: LIST group > repeated group > element (or a two-level legacy list).
      const repeated = node.children[0]!;
      return `List(${footerTypeName(repeated.children.length === 1 ? repeated.children[0]! : repeated)})`;
    }
    if (logical === undefined && element.converted_type === undefined) {
      return `Struct(${node.children.map((c) => `${JSON.stringify(c.element.name)}: ${footerTypeName(c)}`).join(", ")})`;
    }
    return `Parquet(${logical?.type ?? element.converted_type})`;
  }
  switch (logical?.type) {
    case "STRING":
    case "ENUM":
    case "JSON":
      return "String";
    case "NULL":
      return "Null";
    case "DATE":
      return "Date";
    case "TIME":
      return "Time";
    case "TIMESTAMP":
      return `Datetime(${TIME_UNITS[logical.unit]}${logical.isAdjustedToUTC ? ", tz" : ""})`;
    case "INTEGER":
      return `${logical.isSigned ? "Int" : "UInt"}${logical.bitWidth}`;
    case "DECIMAL":
      return `Decimal(${logical.precision}, ${logical.scale})`;
  }
  switch (element.converted_type) {
    case "UTF8":
    case "ENUM":
    case "JSON":
      return "String";
    case "DATE":
      return "Date";
    case "TIMESTAMP_MILLIS":
      return "Datetime(ms)";
    case "TIMESTAMP_MICROS":
      return "Datetime(us)";
    case "DECIMAL":
      return `Decimal(${element.precision}, ${element.scale ?? 0})`;
  }
  switch (element.type) {
    case "BOOLEAN":
      return "Boolean";
    case "INT32":
      return "Int32";
    case "INT64":
      return "Int64";
    case "INT96":
      return "Datetime(ns)";
    case "FLOAT":
      return "Float32";
    case "DOUBLE":
      return "Float64";
    default:
      return "Binary";
  }
}
