import { rmSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FileMetaData, type ParquetParsers, parquetMetadataAsync, parquetSchema } from "hyparquet";
import type pl from "nodejs-polars";
import type { Compression } from "../config.js";
import { isStaleTemp, ownedTempName } from "../storage/temp-files.js";
import type { Storage } from "../storage/types.js";
import { footerTypeName } from "./column-types.js";

export interface ParquetWriteOptions {
  compression: Compression;
  rowGroupSize?: number;
  /** Column statistics (min, max, null count) in the footer. Default true. */
  statistics?: boolean;
}

/** Folders in $TMPDIR holding one sink's output; named by their owner process (see temp-files.ts). */
export const PARQUET_TEMP_PREFIX = "snaplake-parquet-";
const inFlightDirs = new Set<string>();
let sweep: Promise<void> | undefined;

/** Removes the sink folders of processes that are gone (SIGKILL runs no `finally`). */
async function sweepStaleSinkFolders(): Promise<void> {
  const root = tmpdir();
  const names = await readdir(root).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names
      .filter((name) => name.startsWith(PARQUET_TEMP_PREFIX))
      .map(async (name) => {
        const path = join(root, name);
        const stats = await lstat(path).catch(() => null);
        if (stats?.isDirectory() && isStaleTemp(PARQUET_TEMP_PREFIX, name, stats.mtimeMs, now))
          await rm(path, { recursive: true, force: true }).catch(() => {});
      }),
  );
}

/** A process that exits (not killed) while a sink is running still leaves nothing in $TMPDIR. */
function removeInFlightOnExit(): void {
  for (const dir of inFlightDirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Serialises a frame to Parquet bytes. Row-group size and statistics are only reachable through the lazy
 * sink in nodejs-polars, so that path goes through a temp file; `await collect()` keeps the event loop free.
 * A lazy frame's last operations (a sort) run inside the sink, which encodes their output as it comes
 * instead of keeping a sorted copy of every column first.
 * The sink writes into a folder of its own in $TMPDIR, removed afterwards; the first call of a process
 * removes the folders that killed processes left.
 */
export async function frameToParquet(
  frame: pl.DataFrame | pl.LazyDataFrame,
  options: ParquetWriteOptions,
): Promise<Buffer> {
  if (options.rowGroupSize === undefined) {
    const eager = "collect" in frame ? await frame.collect() : frame;
    return eager.writeParquet({ compression: options.compression });
  }
  if (!sweep) {
    sweep = sweepStaleSinkFolders();
    process.once("exit", removeInFlightOnExit);
  }
  await sweep;
  const dir = join(tmpdir(), ownedTempName(PARQUET_TEMP_PREFIX));
  await mkdir(dir, { mode: 0o700 });
  inFlightDirs.add(dir);
  try {
    const path = join(dir, "out.parquet");
    await ("collect" in frame ? frame : frame.lazy())
      .sinkParquet(path, {
        compression: options.compression,
        rowGroupSize: options.rowGroupSize,
        statistics: options.statistics ?? true,
      })
      .collect();
    return await readFile(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
    inFlightDirs.delete(dir);
  }
}

const FOOTER_PROBE_BYTES = 64 * 1024;

/**
 * A Parquet object's footer (schema, row groups, column statistics). Reads only the footer through ranged
 * reads (usually one request for the last 64 KiB), never the data, so validating a large lake doesn't
 * download it.
 */
export async function readParquetFooter(
  storage: Storage,
  uri: string,
  size: number,
  /** How statistics are decoded (hyparquet's defaults: timestamps as Dates, dates as Dates). */
  parsers?: Partial<ParquetParsers>,
): Promise<FileMetaData> {
  const asyncBuffer = {
    byteLength: size,
    slice: async (start: number, end?: number) => {
      const bytes = await storage.getRange(uri, start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  return parquetMetadataAsync(asyncBuffer, {
    initialFetchSize: Math.min(size, FOOTER_PROBE_BYTES),
    ...(parsers ? { parsers: parsers as ParquetParsers } : {}),
  });
}

/** The row count recorded in a Parquet object's footer. */
export async function parquetRowCount(storage: Storage, uri: string, size: number): Promise<number> {
  return Number((await readParquetFooter(storage, uri, size)).num_rows);
}

/** Each top-level column of a footer with its type name (see column-types.ts), in file order. */
export function footerColumnTypes(metadata: FileMetaData): Array<[name: string, type: string]> {
  return parquetSchema(metadata).children.map((column) => [column.element.name, footerTypeName(column)]);
}
