/**
 * Per-file statistics for `add` actions (PROTOCOL.md, "Per-file Statistics"), from the Parquet footer's
 * column-chunk statistics, never from the data: numRecords, and per column minValues, maxValues and
 * nullCount, nested like the schema. A bound is written only when every row group has it and it is exact
 * in the protocol's sense, because a reader skips files on these bounds:
 * - strings only up to 32 characters (a longer max would have to be cut and bumped, as Delta Spark does);
 * - timestamps as ISO 8601 in UTC, truncated to milliseconds (the protocol's rule);
 * - integers, floats (finite), dates as written; booleans, binary, decimals and timestamp_ntz get a
 *   nullCount only. Columns inside arrays and maps get no statistics.
 */
import type { FileMetaData } from "hyparquet";
import { type ColumnAggregate, columnAggregates, columnPathKey, type MinMaxType } from "../footer-stats.js";
import type { DeltaStructType, DeltaType } from "./schema.js";

export interface DeltaFileStats {
  numRecords: number;
  minValues: Record<string, unknown>;
  maxValues: Record<string, unknown>;
  nullCount: Record<string, unknown>;
}

const MAX_STRING_STAT_LENGTH = 32;

export function statsFromFooter(metadata: FileMetaData, schema: DeltaStructType): DeltaFileStats {
  const byPath = columnAggregates(metadata);
  const stats: DeltaFileStats = {
    numRecords: Number(metadata.num_rows),
    minValues: {},
    maxValues: {},
    nullCount: {},
  };
  fill(schema, [], byPath, stats.minValues, stats.maxValues, stats.nullCount);
  return stats;
}

function fill(
  struct: DeltaStructType,
  path: string[],
  byPath: Map<string, ColumnAggregate>,
  minValues: Record<string, unknown>,
  maxValues: Record<string, unknown>,
  nullCount: Record<string, unknown>,
): void {
  for (const field of struct.fields) {
    const fieldPath = [...path, field.name];
    if (typeof field.type === "object") {
      if (field.type.type !== "struct") continue;
      const min: Record<string, unknown> = {};
      const max: Record<string, unknown> = {};
      const nulls: Record<string, unknown> = {};
      fill(field.type, fieldPath, byPath, min, max, nulls);
      if (Object.keys(min).length > 0) minValues[field.name] = min;
      if (Object.keys(max).length > 0) maxValues[field.name] = max;
      if (Object.keys(nulls).length > 0) nullCount[field.name] = nulls;
      continue;
    }
    const aggregate = byPath.get(columnPathKey(fieldPath));
    if (!aggregate) continue;
    if (aggregate.nullsComplete) nullCount[field.name] = Number(aggregate.nulls);
    if (!aggregate.boundsComplete || aggregate.min === undefined || aggregate.max === undefined) continue;
    const min = statValue(aggregate.min, field.type);
    const max = statValue(aggregate.max, field.type);
    if (min === undefined || max === undefined) continue;
    minValues[field.name] = min;
    maxValues[field.name] = max;
  }
}

function statValue(value: MinMaxType, type: DeltaType): string | number | undefined {
  switch (type) {
    case "byte":
    case "short":
    case "integer":
    case "long": {
      const number = typeof value === "bigint" ? Number(value) : value;
      return typeof number === "number" && Number.isSafeInteger(number) ? number : undefined;
    }
    case "float":
    case "double":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
    case "string":
      return typeof value === "string" && [...value].length <= MAX_STRING_STAT_LENGTH ? value : undefined;
    case "date":
      return value instanceof Date ? value.toISOString().slice(0, 10) : undefined;
    case "timestamp":
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : undefined;
    default:
      return undefined;
  }
}

/** `numRecords` of an action's stats JSON, null when absent or unreadable (stats are optional). */
export function rowsOf(stats: string | undefined): number | null {
  if (!stats) return null;
  try {
    const rows = JSON.parse(stats)?.numRecords;
    return typeof rows === "number" ? rows : null;
  } catch {
    return null;
  }
}
