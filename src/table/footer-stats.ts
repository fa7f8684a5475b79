/**
 * Per-column figures of a Parquet file, from its footer's column-chunk metadata (never from the data), for
 * both table formats' file statistics: bounds, null counts, value counts and on-disk sizes, summed or
 * widened over the row groups. A bound is kept only when every row group has an exact one (a chunk of only
 * nulls has none and does not widen it), because readers skip files on these bounds.
 */
import type { ColumnChunk, FileMetaData } from "hyparquet";

/** A footer statistic as hyparquet decodes it. */
export type MinMaxType = bigint | boolean | number | string | Date | Uint8Array;

export interface ColumnAggregate {
  min?: MinMaxType;
  max?: MinMaxType;
  /** False when a chunk with non-null values had no exact bounds: min/max must not be used. */
  boundsComplete: boolean;
  nulls: bigint;
  /** False when a chunk had no null count: `nulls` is a partial sum. */
  nullsComplete: boolean;
  /** Values including nulls (the chunks' `num_values`). */
  values: bigint;
  /** Compressed bytes of the column's chunks. */
  compressedSize: bigint;
}

/** Aggregates keyed by the column's path in the schema, joined with `columnPathKey`. */
export function columnAggregates(metadata: FileMetaData): Map<string, ColumnAggregate> {
  const byPath = new Map<string, ColumnAggregate>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) addChunk(byPath, chunk);
  }
  return byPath;
}

export function columnPathKey(path: readonly string[]): string {
  return path.join("\u0000");
}

function addChunk(byPath: Map<string, ColumnAggregate>, chunk: ColumnChunk): void {
  const meta = chunk.meta_data;
  if (!meta) return;
  const key = columnPathKey(meta.path_in_schema);
  const aggregate = byPath.get(key) ?? {
    boundsComplete: true,
    nulls: 0n,
    nullsComplete: true,
    values: 0n,
    compressedSize: 0n,
  };
  byPath.set(key, aggregate);
  aggregate.values += BigInt(meta.num_values);
  aggregate.compressedSize += BigInt(meta.total_compressed_size);
  const statistics = meta.statistics;
  const min = statistics?.min_value ?? statistics?.min;
  const max = statistics?.max_value ?? statistics?.max;
  const exact = statistics?.is_min_value_exact !== false && statistics?.is_max_value_exact !== false;
  if (min === undefined || max === undefined || !exact) {
    const allNull = statistics?.null_count !== undefined && statistics.null_count === meta.num_values;
    if (!allNull) aggregate.boundsComplete = false;
  } else {
    if (aggregate.min === undefined || compareStat(min, aggregate.min) < 0) aggregate.min = min;
    if (aggregate.max === undefined || compareStat(max, aggregate.max) > 0) aggregate.max = max;
  }
  if (statistics?.null_count === undefined) aggregate.nullsComplete = false;
  else aggregate.nulls += statistics.null_count;
}

/** Orders two footer values: strings by their UTF-8 bytes (Parquet's and both formats' order). */
export function compareStat(a: MinMaxType, b: MinMaxType): number {
  const left = a instanceof Date ? a.getTime() : a;
  const right = b instanceof Date ? b.getTime() : b;
  if (typeof left === "string" && typeof right === "string")
    return Buffer.compare(Buffer.from(left), Buffer.from(right));
  if (left instanceof Uint8Array && right instanceof Uint8Array) return Buffer.compare(left, right);
  if (typeof left === "boolean" && typeof right === "boolean") return Number(left) - Number(right);
  if (
    (typeof left === "number" || typeof left === "bigint") &&
    (typeof right === "number" || typeof right === "bigint")
  ) {
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return 0;
}
