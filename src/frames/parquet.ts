import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FileMetaData, parquetMetadataAsync, parquetSchema } from "hyparquet";
import type pl from "nodejs-polars";
import type { Compression } from "../config.js";
import type { Storage } from "../storage/types.js";
import { footerTypeName } from "./column-types.js";

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

const FOOTER_PROBE_BYTES = 64 * 1024;

/**
 * A Parquet object's footer (schema, row groups, column statistics). Reads only the footer through ranged
 * reads (usually one request for the last 64 KiB), never the data, so validating a large lake doesn't
 * download it.
 */
export async function readParquetFooter(storage: Storage, uri: string, size: number): Promise<FileMetaData> {
  const asyncBuffer = {
    byteLength: size,
    slice: async (start: number, end?: number) => {
      const bytes = await storage.getRange(uri, start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  return parquetMetadataAsync(asyncBuffer, { initialFetchSize: Math.min(size, FOOTER_PROBE_BYTES) });
}

/** The row count recorded in a Parquet object's footer. */
export async function parquetRowCount(storage: Storage, uri: string, size: number): Promise<number> {
  return Number((await readParquetFooter(storage, uri, size)).num_rows);
}

/** Each top-level column of a footer with its type name (see column-types.ts), in file order. */
export function footerColumnTypes(metadata: FileMetaData): Array<[name: string, type: string]> {
  return parquetSchema(metadata).children.map((column) => [column.element.name, footerTypeName(column)]);
}
