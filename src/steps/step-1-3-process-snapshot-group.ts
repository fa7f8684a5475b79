/**
 * Step 1.3: one snapshot file group becomes Hive-partitioned staging Parquet. The user's reader turns the
 * group into a frame; snaplake adds derived columns, splits by partition, writes one file per partition named
 * by the group's fingerprint (a retry overwrites the same keys), keeps rejected rows in a bad-rows file, and
 * writes the staging manifest last.
 */
import pl from "nodejs-polars";
import pLimit from "p-limit";
import { inflateIfGzip } from "../compression.js";
import type { Compression } from "../config.js";
import { SnaplakeError } from "../errors.js";
import { typeNameOf } from "../frames/column-types.js";
import { categoricalToString, type FrameLike, isFrameLike, toPolars } from "../frames/convert.js";
import { concatHarmonized } from "../frames/harmonize.js";
import { frameToParquet } from "../frames/parquet.js";
import {
  checkPartitionPathFits,
  encodeHivePath,
  HIVE_DEFAULT_PARTITION,
  type PartitionValues,
  partitionFolderValue,
} from "../models/hive.js";
import type { Locations } from "../models/locations.js";
import {
  type LakeLayout,
  type SnapshotFileGroup,
  type StagingFile,
  type StagingLayout,
  type StagingManifest,
  stagingLayoutOf,
  writeJson,
} from "../models/manifests.js";
import type {
  BatchReadSnapshotDataFile,
  DerivedColumn,
  ReadContext,
  SnapshotReadResult,
} from "../readers/types.js";
import { ObjectChangedError } from "../storage/errors.js";
import type { Storage } from "../storage/types.js";
import type { SnapshotGroupTaskOutput } from "./catalogue.js";
import { keepLatest, sortedLazy } from "./step-2-3-compact-partition-group.js";

export class SnapshotFileReadError extends SnaplakeError {
  readonly uri: string;
  constructor(uri: string, cause: unknown) {
    super(
      "SNAPSHOT_FILE_UNREADABLE",
      `Cannot read snapshot file ${uri}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    this.uri = uri;
  }
}

/**
 * A snapshot file is no longer the one step 0 recorded (overwritten since): reading it would make the lake
 * disagree with the manifest's fingerprint, so its group fails instead.
 */
export class SnapshotFileChangedError extends SnapshotFileReadError {
  override readonly code = "SNAPSHOT_FILE_CHANGED";
  readonly expectedEtag: string;
  readonly actualEtag: string;
  constructor(error: ObjectChangedError) {
    super(error.uri, error);
    this.message =
      `Snapshot file ${error.uri} changed after step 0 recorded it: etag ${error.expectedEtag} then, ` +
      `${error.actualEtag} now. Restore the file, convert the new snapshot under a new projectId, or start this ` +
      "project over from its new files with `snaplake reset --from-step 0`.";
    this.expectedEtag = error.expectedEtag;
    this.actualEtag = error.actualEtag;
  }
}

export class SnapshotGroupReadError extends SnaplakeError {
  constructor(group: SnapshotFileGroup, cause: unknown) {
    const files = group.files.map((f) => f.uri);
    const shown = files.slice(0, 5).join(", ") + (files.length > 5 ? `, and ${files.length - 5} more` : "");
    super(
      "SNAPSHOT_GROUP_UNREADABLE",
      `Reading snapshot file group ${group.fingerprint} (${shown}) failed: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

export class MissingPartitionColumnError extends SnaplakeError {
  constructor(missing: string[], available: string[]) {
    super(
      "MISSING_PARTITION_COLUMN",
      `Partition column(s) ${missing.map((c) => `"${c}"`).join(", ")} not in the frame (columns: ${available.join(", ")}); derive them in the reader or with derivedColumns`,
    );
  }
}

export function createReadContext(
  storage: Storage,
  group: SnapshotFileGroup,
  signal: AbortSignal,
): ReadContext {
  // Every file of the group is read as the manifest recorded it (its etag), or not at all.
  const etags = new Map(group.files.map((file) => [file.uri, file.etag]));
  const readFile = async (uri: string) => {
    try {
      const etag = etags.get(uri);
      return await inflateIfGzip(await storage.get(uri, etag === undefined ? {} : { ifMatch: etag }));
    } catch (error) {
      if (error instanceof ObjectChangedError) throw new SnapshotFileChangedError(error);
      throw new SnapshotFileReadError(uri, error);
    }
  };
  return {
    storage,
    signal,
    readFile,
    async readEach(decode) {
      const frames: Array<{ frame: pl.DataFrame; source: string }> = [];
      for (const file of group.files) {
        signal.throwIfAborted();
        const bytes = await readFile(file.uri);
        try {
          frames.push({ frame: toPolars(await decode(bytes, file.uri)), source: file.uri });
        } catch (error) {
          throw new SnapshotFileReadError(file.uri, error);
        }
      }
      return concatHarmonized(frames);
    },
  };
}

function isReadResult(value: FrameLike | SnapshotReadResult): value is SnapshotReadResult {
  // An Arrow Table has a `data` property of its own (its record batches): it is a frame, not a result.
  return !isFrameLike(value) && typeof value === "object" && value !== null && "data" in value;
}

/** A derived column's expression fails on the data (unknown column, wrong type): the same on every attempt. */
export class DerivedColumnError extends SnaplakeError {
  readonly column: string;
  constructor(column: string, cause: unknown, declaration?: string) {
    // polars appends its query plan on later lines; the first line says what is wrong.
    const reason = ((cause as Error)?.message ?? String(cause)).split("\n")[0] ?? "";
    // A date format applied to text (a CSV date column polars left as a string) says only "dtype `str`".
    const hint = /not supported for dtype `str`/.test(reason)
      ? ". Its source column is text, not a date: parse it first (CSV: reader.tryParseDates, or reader.schema " +
        'declaring the column "Date" or "Datetime(us)" with reader.dateFormat), or cast it in your reader'
      : "";
    const shown = declaration ? ` (declared as ${declaration})` : "";
    super("DERIVED_COLUMN_FAILED", `Derived column "${column}" failed: ${reason}${shown}${hint}`, { cause });
    this.column = column;
  }
}

export function applyDerivedColumns(frame: pl.DataFrame, derived: readonly DerivedColumn[]): pl.DataFrame {
  // One at a time, so a derived column may use an earlier one.
  return derived.reduce((acc, column) => {
    try {
      return acc.withColumns(column.expr.alias(column.name));
    } catch (error) {
      throw new DerivedColumnError(column.name, error, column.declaration ?? String(column.expr));
    }
  }, frame);
}

/**
 * applyDerivedColumns on polars' threads, so the event loop (the other tasks of this process) goes on
 * meanwhile; when that fails, the eager version names the derived column at fault.
 */
async function withDerivedColumns(
  frame: pl.DataFrame,
  derived: readonly DerivedColumn[],
): Promise<pl.DataFrame> {
  if (derived.length === 0) return frame;
  try {
    return await derived
      .reduce((acc, column) => acc.withColumns(column.expr.alias(column.name)), frame.lazy())
      .collect();
  } catch {
    return applyDerivedColumns(frame, derived);
  }
}

/** Row groups of staging files written without the lake's layout (polars' default). */
const STAGING_ROW_GROUP_SIZE = 512 * 512;

/**
 * The codec of staging files written without the lake's layout: they are decoded again by step 2.3, and lz4
 * encodes ~15% and decodes ~30% faster than zstd here, for files ~1.6x larger.
 */
export const STAGING_COMPRESSION: Compression = "lz4";

/**
 * One partition's rows in the lake's form: the latest row per record (in input order), then sorted, lazily:
 * the sort runs inside the Parquet sink.
 */
function toLakeLayout(
  rows: pl.DataFrame,
  layout: LakeLayout,
): { rows: pl.LazyDataFrame; height: number; removed: number } {
  let removed = 0;
  let frame = rows;
  if (layout.dedupe) ({ frame, removed } = keepLatest(frame, layout.dedupe));
  return { rows: sortedLazy(frame, layout.sortBy), height: frame.height, removed };
}

/** Above this many partitions in one frame, one partitionBy beats a filter per partition. */
const MAX_FILTERED_PARTITIONS = 8;

/**
 * Splits a frame by partition keys into (Hive path, partition values, rows without the key columns). Key
 * values are compared as their folder holds them: as text, with null, "" and the default-partition literal
 * all one partition (null), so two parts never share a folder.
 */
export function splitByPartition(
  frame: pl.DataFrame,
  partitionKeys: readonly string[],
): Array<{ path: string; values: PartitionValues; rows: pl.DataFrame }> {
  if (partitionKeys.length === 0) return [{ path: "", values: {}, rows: frame }];
  const missing = partitionKeys.filter((k) => !frame.columns.includes(k));
  if (missing.length > 0) throw new MissingPartitionColumnError(missing, frame.columns);
  if (frame.height === 0) return [];
  const asFolderValue = (key: string) => {
    const text = pl.col(key).cast(pl.Utf8);
    return pl
      .when(text.eq(pl.lit("")).or(text.eq(pl.lit(HIVE_DEFAULT_PARTITION))))
      .then(pl.lit(null).cast(pl.Utf8))
      .otherwise(text)
      .alias(key);
  };
  const keyed = frame.withColumns(...partitionKeys.map(asFolderValue));
  const valuesOf = (keys: pl.DataFrame, row: number): PartitionValues => {
    const values: PartitionValues = {};
    for (const key of partitionKeys) values[key] = partitionFolderValue(keys.getColumn(key).get(row));
    return values;
  };
  const part = (values: PartitionValues, rows: pl.DataFrame) => {
    checkPartitionPathFits(partitionKeys, values);
    return { path: encodeHivePath(partitionKeys, values), values, rows: rows.drop([...partitionKeys]) };
  };

  // The usual case is a group holding one or two days of a daily partition: then the frame itself, or a
  // filter per partition (a sequential copy), is cheaper than partitionBy (a gather per partition).
  const distinct = keyed.select(...partitionKeys).unique({ maintainOrder: true });
  if (distinct.height <= MAX_FILTERED_PARTITIONS) {
    return Array.from({ length: distinct.height }, (_, row) => {
      const values = valuesOf(distinct, row);
      if (distinct.height === 1) return part(values, frame);
      const matches = partitionKeys.map((k) => {
        const value = values[k];
        return value === null || value === undefined ? pl.col(k).isNull() : pl.col(k).eq(pl.lit(value));
      });
      return part(values, keyed.filter(matches.reduce((all, next) => all.and(next))));
    });
  }
  return keyed.partitionBy([...partitionKeys], true, true).map((rows) => part(valuesOf(rows, 0), rows));
}

export async function processSnapshotGroup(input: {
  storage: Storage;
  locations: Locations;
  group: SnapshotFileGroup;
  read: BatchReadSnapshotDataFile;
  partitionKeys: readonly string[];
  derivedColumns?: readonly DerivedColumn[];
  /**
   * Write staging files in the lake's final form, so that step 2.3 copies the ones that need no merge.
   * Without it: unsorted files (in `compression`) that step 2.3 always rewrites.
   */
  layout?: LakeLayout;
  /** Codec of staging files written without `layout`; default STAGING_COMPRESSION. */
  compression?: Compression;
  signal?: AbortSignal;
}): Promise<SnapshotGroupTaskOutput & { stagingManifest: StagingManifest }> {
  const { storage, locations, group } = input;
  const signal = input.signal ?? new AbortController().signal;

  let result: FrameLike | SnapshotReadResult;
  try {
    result = await input.read(group, createReadContext(storage, group, signal));
  } catch (error) {
    if (error instanceof SnapshotFileReadError) throw error;
    throw new SnapshotGroupReadError(group, error);
  }
  const read = isReadResult(result) ? result : { data: result };
  const data = toPolars(read.data);
  // Empty files give a frame without rows and possibly without columns: nothing to derive or to stage.
  const frame =
    data.height === 0
      ? data
      : categoricalToString(await withDerivedColumns(data, input.derivedColumns ?? []));
  signal.throwIfAborted();

  const parts = frame.height === 0 ? [] : splitByPartition(frame, input.partitionKeys);
  // The keys become folder names and leave the files: their types live on only in the manifest.
  const partitionTypes =
    parts.length === 0
      ? undefined
      : Object.fromEntries(input.partitionKeys.map((key) => [key, typeNameOf(frame.getColumn(key).dtype)]));
  // Before anything is written: the staging and (longer) lake file names of every part must fit an S3 key.
  for (const part of parts) {
    checkPartitionPathFits(input.partitionKeys, part.values, [
      locations.stagingFile(part.path, group.fingerprint),
      locations.lakeFile(part.path, group.fingerprint, 0),
    ]);
  }
  const layout: StagingLayout = input.layout
    ? stagingLayoutOf(input.layout)
    : {
        compression: input.compression ?? STAGING_COMPRESSION,
        rowGroupSize: STAGING_ROW_GROUP_SIZE,
        sortBy: [],
        dedupe: null,
      };
  const limit = pLimit(4);
  const files: StagingFile[] = await Promise.all(
    parts.map((part) =>
      limit(async () => {
        const { rows, height, removed } = input.layout
          ? toLakeLayout(part.rows, input.layout)
          : { rows: part.rows, height: part.rows.height, removed: 0 };
        // Through the async sink, so another task's work runs while polars writes. Files in the lake's form
        // may become lake files as they are, so they carry its statistics; the others are only read whole.
        const bytes = await frameToParquet(rows, {
          compression: layout.compression as Compression,
          rowGroupSize: layout.rowGroupSize,
          statistics: input.layout !== undefined,
        });
        const uri = locations.stagingFile(part.path, group.fingerprint);
        const put = await storage.put(uri, bytes);
        return {
          uri,
          etag: put.etag,
          size: put.size,
          nRecord: height,
          partition: part.path,
          ...(input.layout?.dedupe ? { duplicatesRemoved: removed } : {}),
          layout,
        };
      }),
    ),
  );
  files.sort((a, b) => (a.uri < b.uri ? -1 : 1));
  const duplicatesRemoved = files.reduce((n, f) => n + (f.duplicatesRemoved ?? 0), 0);

  const badRows = read.badRows ?? [];
  if (badRows.length > 0) {
    const ndjson = badRows.map((row) => JSON.stringify(row)).join("\n") + "\n";
    await storage.put(locations.badRows(group.fingerprint), ndjson, { contentType: "application/x-ndjson" });
  }
  const droppedTotal = Object.values(read.dropped ?? {}).reduce((a, b) => a + b, 0);
  const stagingManifest: StagingManifest = {
    kind: "staging-file-group",
    snapshotGroup: group.fingerprint,
    rowsRead: frame.height + badRows.length + droppedTotal,
    rowsWritten: frame.height - duplicatesRemoved,
    badRows: badRows.length,
    dropped: { ...(read.dropped ?? {}) },
    ...(read.rowsPerFile ? { rowsPerFile: { ...read.rowsPerFile } } : {}),
    ...(input.layout?.dedupe ? { duplicatesRemoved } : {}),
    ...(partitionTypes && input.partitionKeys.length > 0 ? { partitionTypes } : {}),
    files,
  };
  const stagingManifestUri = locations.stagingManifest(group.fingerprint);
  await writeJson(storage, stagingManifestUri, stagingManifest);
  return {
    stagingManifestUri,
    rowsRead: stagingManifest.rowsRead,
    rowsWritten: stagingManifest.rowsWritten,
    badRows: badRows.length,
    dropped: { ...(read.dropped ?? {}) },
    stagingFiles: files.length,
    stagingManifest,
  };
}
