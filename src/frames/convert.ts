import * as arrow from "apache-arrow";
import pl from "nodejs-polars";

export type FrameLike = pl.DataFrame | arrow.Table;

/** The dtype's name without parameters: "Int32", "Datetime", "String", "Categorical"... */
export function dtypeName(dtype: pl.DataType): string {
  return dtype.variant;
}

/**
 * Column name → dtype, from two native calls. `DataFrame.schema` wraps every column in a JS Series, and
 * building a Series wrapper costs ~1 ms, which adds up to ~0.1 s per read of a 131-column frame.
 */
export function frameSchema(frame: pl.DataFrame): Record<string, pl.DataType> {
  const dtypes = frame.dtypes;
  return Object.fromEntries(frame.columns.map((column, index) => [column, dtypes[index]!]));
}

/** A polars DataFrame or an apache-arrow Table. */
export function isFrameLike(value: unknown): value is FrameLike {
  return (
    value instanceof arrow.Table || (typeof value === "object" && value !== null && "writeParquet" in value)
  );
}

/** Categorical columns cast to String (Parquet partitions and schema harmonising expect plain strings). */
export function categoricalToString(frame: pl.DataFrame): pl.DataFrame {
  const categorical = Object.entries(frameSchema(frame))
    .filter(([, dtype]) => dtypeName(dtype) === "Categorical")
    .map(([column]) => column);
  return categorical.length === 0
    ? frame
    : frame.withColumns(...categorical.map((c) => pl.col(c).cast(pl.Utf8)));
}

/**
 * A polars DataFrame from either a DataFrame or an apache-arrow Table. Arrow goes through IPC (columnar,
 * no per-row work); Arrow's dictionary-encoded strings arrive as Categorical and are cast back to String.
 */
export function toPolars(data: FrameLike): pl.DataFrame {
  if (data instanceof arrow.Table) {
    return categoricalToString(pl.readIPCStream(Buffer.from(arrow.tableToIPC(data, "stream"))));
  }
  if (data && typeof (data as pl.DataFrame).writeParquet === "function") return data as pl.DataFrame;
  throw new TypeError("expected a nodejs-polars DataFrame or an apache-arrow Table");
}
