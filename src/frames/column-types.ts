/**
 * Column type names that read the same from a polars dtype and from a Parquet footer, so a lake schema can
 * be computed from footers alone and compared with frames and with the files written. Names follow polars:
 * "Int64", "String", "Datetime(us)", "List(Float64)"... A time-zone aware datetime is "Datetime(us, tz)":
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
      return `Struct(${fields.map((f) => `${f.name}: ${typeNameOf(f.dtype)}`).join(", ")})`;
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
  return undefined;
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
      return `Struct(${node.children.map((c) => `${c.element.name}: ${footerTypeName(c)}`).join(", ")})`;
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
