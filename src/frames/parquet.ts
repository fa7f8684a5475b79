import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata } from "hyparquet";
import type pl from "nodejs-polars";
import type { Compression } from "../config.js";

export interface ParquetWriteOptions {
  compression: Compression;
  rowGroupSize?: number;
  /** Column statistics (min, max, null count) in the footer. Default true. */
  statistics?: boolean;
}

/**
 * Serialises a frame to Parquet bytes. Row-group size and statistics are only reachable through the lazy
 * sink in nodejs-polars, so that path goes through a temp file; `await collect()` keeps the event loop free.
 */
export async function frameToParquet(frame: pl.DataFrame, options: ParquetWriteOptions): Promise<Buffer> {
  if (options.rowGroupSize === undefined) return frame.writeParquet({ compression: options.compression });
  const dir = await mkdtemp(join(tmpdir(), "snaplake-parquet-"));
  try {
    const path = join(dir, "out.parquet");
    await frame
      .lazy()
      .sinkParquet(path, {
        compression: options.compression,
        rowGroupSize: options.rowGroupSize,
        statistics: options.statistics ?? true,
      })
      .collect();
    return await readFile(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The row count recorded in a Parquet file's footer, without decoding any data. */
export function parquetRowCount(bytes: Buffer): number {
  const view = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return Number(parquetMetadata(view).num_rows);
}
