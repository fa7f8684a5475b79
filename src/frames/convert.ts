import * as arrow from "apache-arrow";
import pl from "nodejs-polars";

export type FrameLike = pl.DataFrame | arrow.Table;

/** The dtype's name without parameters: "Int32", "Datetime", "String", "Categorical"... */
export function dtypeName(dtype: pl.DataType): string {
  return dtype.variant;
}

/**
 * A polars DataFrame from either a DataFrame or an apache-arrow Table. Arrow goes through IPC (columnar,
 * no per-row work); Arrow's dictionary-encoded strings arrive as Categorical and are cast back to String.
 */
export function toPolars(data: FrameLike): pl.DataFrame {
  if (data instanceof arrow.Table) {
    const frame = pl.readIPCStream(Buffer.from(arrow.tableToIPC(data, "stream")));
    const categorical = frame.columns.filter((c) => dtypeName(frame.getColumn(c).dtype) === "Categorical");
    return categorical.length === 0
      ? frame
      : frame.withColumns(...categorical.map((c) => pl.col(c).cast(pl.Utf8)));
  }
  if (data && typeof (data as pl.DataFrame).writeParquet === "function") return data as pl.DataFrame;
  throw new TypeError("expected a nodejs-polars DataFrame or an apache-arrow Table");
}
