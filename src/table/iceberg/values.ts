/**
 * Values in Iceberg metadata: partition values parsed from Hive folder names into their Iceberg type, and
 * the spec's single-value binary serialisation (Appendix D) for bounds:
 * boolean 0x00/0x01; int and date 4 bytes, long, timestamp and timestamptz 8 bytes, little-endian;
 * float and double IEEE 754 little-endian; string UTF-8 bytes; binary as is.
 * Footers are read with `RAW_STAT_PARSERS`, so timestamps stay exact microseconds and strings exact bytes.
 */
import type { ParquetParsers } from "hyparquet";
import type { MinMaxType } from "../footer-stats.js";
import { IcebergInputError } from "./errors.js";
import type { IcebergPrimitiveType, IcebergType } from "./schema.js";

/** Statistics decoded to their stored form: µs since the epoch, days since the epoch, raw bytes. */
export const RAW_STAT_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (millis) => millis * 1000n,
  timestampFromMicroseconds: (micros) => micros,
  timestampFromNanoseconds: () => undefined,
  dateFromDays: (days) => days,
  stringFromBytes: (bytes) => bytes,
};

/** A partition value as stored in a manifest's partition tuple (JS form of its Avro type). */
export type PartitionValue = string | number | boolean | Buffer | null;

/** Parses a Hive folder value into the partition field's type; `where` names the file for errors. */
export function parsePartitionValue(
  raw: string | null,
  type: IcebergType,
  column: string,
  where: string,
): PartitionValue {
  if (raw === null) return null;
  const bad = (): never => {
    throw new IcebergInputError(
      `${where}: partition value ${column}=${JSON.stringify(raw)} is not a valid ${String(type)}`,
    );
  };
  switch (type) {
    case "string":
      return raw;
    case "int":
    case "long": {
      if (!/^-?\d+$/.test(raw)) return bad();
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || (type === "int" && Math.abs(value) > 2 ** 31)) return bad();
      return value;
    }
    case "float":
    case "double": {
      const value = Number(raw);
      return Number.isNaN(value) && raw !== "NaN" ? bad() : value;
    }
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : bad();
    case "date": {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) return bad();
      const ms = Date.parse(`${raw}T00:00:00Z`);
      return Number.isNaN(ms) ? bad() : ms / 86_400_000;
    }
    case "timestamp":
    case "timestamptz": {
      const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw.replace(" ", "T")}Z`);
      return Number.isNaN(ms) ? bad() : ms * 1000;
    }
    default:
      throw new IcebergInputError(
        `${where}: partition column ${column} of type ${String(type)} is not supported`,
      );
  }
}

/** The single-value serialisation of a footer bound, or undefined when the type gets no bound here. */
export function serializeBound(value: MinMaxType, type: IcebergPrimitiveType): Buffer | undefined {
  switch (type) {
    case "boolean":
      return typeof value === "boolean" ? Buffer.from([value ? 1 : 0]) : undefined;
    case "int":
    case "date": {
      const number = typeof value === "bigint" ? Number(value) : value;
      if (typeof number !== "number" || !Number.isInteger(number)) return undefined;
      const out = Buffer.alloc(4);
      out.writeInt32LE(number);
      return out;
    }
    case "long":
    case "timestamp":
    case "timestamptz": {
      if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value)))
        return undefined;
      const out = Buffer.alloc(8);
      out.writeBigInt64LE(BigInt(value));
      return out;
    }
    case "float":
    case "double": {
      // The spec forbids NaN bounds; an infinity is a valid bound.
      if (typeof value !== "number" || Number.isNaN(value)) return undefined;
      const out = Buffer.alloc(type === "float" ? 4 : 8);
      if (type === "float") out.writeFloatLE(value);
      else out.writeDoubleLE(value);
      return out;
    }
    case "string":
    case "binary":
      if (value instanceof Uint8Array) return Buffer.from(value);
      return typeof value === "string" ? Buffer.from(value, "utf8") : undefined;
    default:
      return undefined; // decimals: hyparquet decodes them to floating point, not exactly
  }
}

/** A partition value serialised for the manifest list's field summaries. */
export function serializePartitionValue(
  value: Exclude<PartitionValue, null>,
  type: IcebergType,
): Buffer | undefined {
  if (typeof value === "number" && (type === "timestamp" || type === "timestamptz" || type === "long")) {
    return serializeBound(BigInt(value), type);
  }
  return typeof type === "string" ? serializeBound(value as MinMaxType, type) : undefined;
}
