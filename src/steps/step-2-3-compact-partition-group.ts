/**
 * Step 2.3: one partition group's staging files become sorted, right-sized lake Parquet. Schemas are
 * harmonised and cast to the lake schema step 2.1 planned, the latest row per record id is kept when configured, rows are sorted, and the output is split
 * into files of about the target size (calibrated on a sample of the real output, since compressed size
 * depends on the data). Names are deterministic; files a previous attempt left beyond the new count are removed.
 */
import pl from "nodejs-polars";
import type { Compression, SortKey } from "../config.js";
import { SnaplakeError } from "../errors.js";
import { castToLakeSchema, concatHarmonized } from "../frames/harmonize.js";
import { frameToParquet } from "../frames/parquet.js";
import type { Locations } from "../models/locations.js";
import {
  hasLayout,
  type LakeSchema,
  type PartitionFileGroup,
  type StagingFile,
  stagingLayoutOf,
} from "../models/manifests.js";
import type { Storage } from "../storage/types.js";
import type { PartitionGroupTaskOutput } from "./catalogue.js";

export class StagingFileReadError extends SnaplakeError {
  constructor(uri: string, cause: unknown) {
    super(
      "STAGING_FILE_UNREADABLE",
      `Cannot read staging file ${uri}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

export class MissingColumnError extends SnaplakeError {
  constructor(purpose: string, column: string, available: string[]) {
    super(
      "MISSING_COLUMN",
      `${purpose} column "${column}" is not in the data (columns: ${available.join(", ")})`,
    );
  }
}

export interface DedupeOptions {
  recordIdColumn: string;
  updateTimeColumn: string;
}

const ROW = "__snaplake_row";

/**
 * Keeps the latest row per record id (largest update time; a null update time counts as oldest; among equal
 * times, the later row in input order). Rows without a record id are all kept: there is nothing to match them on.
 */
export function keepLatest(
  frame: pl.DataFrame,
  options: DedupeOptions,
): { frame: pl.DataFrame; removed: number } {
  for (const [purpose, column] of [
    ["recordIdColumn", options.recordIdColumn],
    ["updateTimeColumn", options.updateTimeColumn],
  ] as const) {
    if (!frame.columns.includes(column)) throw new MissingColumnError(purpose, column, frame.columns);
  }
  const indexed = frame.withRowIndex(ROW);
  const id = pl.col(options.recordIdColumn);
  const withId = indexed.filter(id.isNotNull());
  const withoutId = indexed.filter(id.isNull());
  const latest = withId
    .sort([options.recordIdColumn, options.updateTimeColumn, ROW], [false, true, true], true)
    .unique({ subset: [options.recordIdColumn], keep: "first", maintainOrder: true });
  const kept = (withoutId.height > 0 ? pl.concat([latest, withoutId]) : latest).drop(ROW);
  return { frame: kept, removed: frame.height - kept.height };
}

/** The frame sorted by `sortBy`, as a lazy frame: a Parquet sink sorts while it encodes (frameToParquet). */
export function sortedLazy(frame: pl.DataFrame, sortBy: readonly SortKey[]): pl.LazyDataFrame {
  if (sortBy.length === 0 || frame.height === 0) return frame.lazy();
  const missing = sortBy.find((k) => !frame.columns.includes(k.column));
  if (missing) throw new MissingColumnError("sortBy", missing.column, frame.columns);
  return frame.lazy().sort(
    sortBy.map((k) => k.column),
    sortBy.map((k) => k.descending),
    true,
    true,
  );
}

export function sortFrame(frame: pl.DataFrame, sortBy: readonly SortKey[]): pl.DataFrame {
  if (sortBy.length === 0 || frame.height === 0) return frame;
  return sortedLazy(frame, sortBy).collectSync();
}

/**
 * Writes `frame` as files of about `targetSize` bytes: a sample slice measures bytes per row, then rows are
 * split evenly over ceil(estimated total / target) files. Returns each file's bytes in order.
 */
export async function* splitToParquet(
  frame: pl.DataFrame,
  options: { targetSize: number; compression: Compression; rowGroupSize: number; estimatedBytes: number },
): AsyncGenerator<{ bytes: Buffer; rows: number }> {
  const total = frame.height;
  if (total === 0) return;
  const write = (slice: pl.DataFrame) =>
    frameToParquet(slice, { compression: options.compression, rowGroupSize: options.rowGroupSize });
  const guess = Math.max(1, Math.ceil(options.estimatedBytes / options.targetSize));
  const sampleRows = Math.ceil(total / guess);
  const sample = await write(frame.slice(0, sampleRows));
  const bytesPerRow = sample.length / sampleRows;
  const files = Math.max(1, Math.ceil((total * bytesPerRow) / options.targetSize));
  const rowsPerFile = Math.ceil(total / files);
  for (let offset = 0; offset < total; offset += rowsPerFile) {
    const rows = Math.min(rowsPerFile, total - offset);
    const bytes = offset === 0 && rows === sampleRows ? sample : await write(frame.slice(offset, rows));
    yield { bytes, rows };
  }
}

export async function compactPartitionGroup(input: {
  storage: Storage;
  locations: Locations;
  group: PartitionFileGroup;
  /** Step 2.1's schema of the whole lake: the output has exactly its columns and types. */
  lakeSchema: LakeSchema;
  sortBy: readonly SortKey[];
  dedupe?: DedupeOptions;
  targetParquetFileSize: number;
  compression: Compression;
  rowGroupSize: number;
  signal?: AbortSignal;
}): Promise<PartitionGroupTaskOutput> {
  const { storage, locations, group } = input;
  if (group.action === "promote" && group.files.length === 1 && isInLakeLayout(group.files[0]!, input)) {
    return promote(storage, locations, group, group.files[0]!);
  }
  const frames: Array<{ frame: pl.DataFrame; source: string }> = [];
  for (const file of [...group.files].sort((a, b) => (a.uri < b.uri ? -1 : 1))) {
    input.signal?.throwIfAborted();
    try {
      frames.push({ frame: pl.readParquet(await storage.get(file.uri)), source: file.uri });
    } catch (error) {
      throw new StagingFileReadError(file.uri, error);
    }
  }
  let frame = castToLakeSchema(
    concatHarmonized(frames),
    input.lakeSchema.columns,
    `Compaction group ${group.fingerprint} (partition ${group.partition || "(unpartitioned)"})`,
  );
  const rowsRead = frame.height;
  let duplicatesRemoved = 0;
  if (input.dedupe) {
    const deduped = keepLatest(frame, input.dedupe);
    frame = deduped.frame;
    duplicatesRemoved = deduped.removed;
  }
  frame = sortFrame(frame, input.sortBy);

  const lakeFiles: PartitionGroupTaskOutput["lakeFiles"] = [];
  let bytesWritten = 0;
  for await (const { bytes, rows } of splitToParquet(frame, {
    targetSize: input.targetParquetFileSize,
    compression: input.compression,
    rowGroupSize: input.rowGroupSize,
    estimatedBytes: group.estimatedBytes,
  })) {
    input.signal?.throwIfAborted();
    const uri = locations.lakeFile(group.partition, group.fingerprint, lakeFiles.length);
    await storage.put(uri, bytes);
    lakeFiles.push({ uri, size: bytes.length, nRecord: rows });
    bytesWritten += bytes.length;
  }
  await removeStaleOutputs(storage, locations, group, lakeFiles.length);
  return { rowsRead, rowsWritten: frame.height, duplicatesRemoved, lakeFiles, bytesWritten };
}

/**
 * Whether a staging file is still in the layout the lake asks for: a setting changed since step 2.1
 * planned (with a reset from step 2.3) makes a planned promotion a rewrite.
 */
function isInLakeLayout(
  file: StagingFile,
  settings: {
    sortBy: readonly SortKey[];
    compression: Compression;
    rowGroupSize: number;
    dedupe?: DedupeOptions;
  },
): boolean {
  return hasLayout(file, stagingLayoutOf(settings));
}

/** The staging file becomes the group's one lake file, byte for byte, without being decoded. */
async function promote(
  storage: Storage,
  locations: Locations,
  group: PartitionFileGroup,
  file: StagingFile,
): Promise<PartitionGroupTaskOutput> {
  const uri = locations.lakeFile(group.partition, group.fingerprint, 0);
  let copied: { size: number };
  try {
    copied = await storage.copy(file.uri, uri);
  } catch (error) {
    throw new StagingFileReadError(file.uri, error);
  }
  await removeStaleOutputs(storage, locations, group, 1);
  return {
    rowsRead: file.nRecord,
    rowsWritten: file.nRecord,
    duplicatesRemoved: 0,
    lakeFiles: [{ uri, size: copied.size, nRecord: file.nRecord }],
    bytesWritten: copied.size,
  };
}

/**
 * Deletes this group's files that an earlier attempt wrote beyond the `written` ones. Every attempt numbers
 * its files from 0 without gaps, so the stale ones are the run from `written` on: probing names one by one
 * (usually a single request) replaces listing the partition, which for an unpartitioned lake is all of it.
 * They are deleted last first, one at a time, so an interrupted cleanup still leaves a gapless run for the
 * next attempt's probe (a batch delete may remove any subset of its keys).
 */
async function removeStaleOutputs(
  storage: Storage,
  locations: Locations,
  group: PartitionFileGroup,
  written: number,
): Promise<void> {
  const stale: string[] = [];
  for (let index = written; ; index++) {
    const uri = locations.lakeFile(group.partition, group.fingerprint, index);
    if (!(await storage.exists(uri))) break;
    stale.push(uri);
  }
  for (const uri of stale.reverse()) await storage.delete([uri]);
}
