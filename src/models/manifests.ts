/**
 * Manifests: the snapshot manifest (summary JSON + Parquet data file, compatible with s3manifesto's layout)
 * and the JSON manifests of the groups each step plans and produces. All JSON read back is parsed with zod.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import type { Compression } from "../config.js";
import { ConfigError, formatZodIssues, SnaplakeError } from "../errors.js";
import { ObjectNotFoundError } from "../storage/errors.js";
import type { Storage } from "../storage/types.js";
import {
  asFolder,
  baseName,
  isS3Uri,
  joinUri,
  normalizeUri,
  parentFolder,
  parseUri,
} from "../storage/uri.js";
import { fingerprintFiles, MissingEtagError, sha256Hex } from "./fingerprint.js";

/** One data file of a snapshot: where it is, its etag and size, and its row count when known. */
export interface DataFile {
  uri: string;
  etag: string;
  size: number;
  nRecord: number | null;
}

export interface SnapshotManifest {
  summaryUri: string;
  dataUri: string;
  files: DataFile[];
  size: number;
  /** Sum of the files' row counts; null unless every file's count is known. */
  nRecord: number | null;
  fingerprint: string;
  details: Record<string, unknown>;
}

export class ManifestError extends SnaplakeError {
  constructor(uri: string, problem: string, options?: { cause?: unknown }) {
    super("MANIFEST_INVALID", `Manifest ${uri}: ${problem}`, options);
  }
}

// --- where a snapshot's files may lie --------------------------------------------------------------------

/** Where a snapshot's files are: a folder to list, a manifest the user wrote, or a database export. */
export type SnapshotSource =
  | {
      uri: string;
      include?: string | readonly string[] | undefined;
      exclude?: string | readonly string[] | undefined;
      includeRegex?: string | undefined;
    }
  | { manifestUri: string; allowedRoots?: readonly string[] | undefined }
  | { dynamodbExport: string }
  | { rdsExport: string; table: string };

/**
 * The folders (URIs with a trailing slash) a snapshot's data files must lie under, so a manifest can't make
 * a worker read anything else into the lake (`/proc/self/environ`, another bucket). A listed snapshot: its
 * folder. A manifest: its own folder (local) or bucket (S3), and the `allowedRoots` the config lists; a
 * manifest stored in S3 may name S3 objects only, never local paths.
 */
export interface SnapshotConfinement {
  roots: string[];
  /** Set for a manifest stored in S3: no local path is accepted, whatever the roots. */
  s3Only: boolean;
}

export function snapshotConfinement(source: SnapshotSource): SnapshotConfinement {
  if ("uri" in source) return { roots: [asFolder(normalizeUri(source.uri))], s3Only: false };
  // An export's files are joined to its folder from the keys its manifests hold: they lie under it.
  if ("dynamodbExport" in source)
    return { roots: [asFolder(normalizeUri(source.dynamodbExport))], s3Only: false };
  if ("rdsExport" in source) return { roots: [asFolder(normalizeUri(source.rdsExport))], s3Only: false };
  const manifestUri = normalizeUri(source.manifestUri);
  const s3Only = isS3Uri(manifestUri);
  const own = s3Only ? `s3://${bucketOf(manifestUri)}/` : parentFolder(manifestUri);
  const listed = (source.allowedRoots ?? []).map((root) => asFolder(normalizeUri(root)));
  const roots = [own, ...listed].filter((root) => !s3Only || isS3Uri(root));
  return { roots: [...new Set(roots)], s3Only };
}

/** A manifest names a file outside the snapshot's roots: refused before anything is read or written. */
export class ManifestEntryOutsideRootsError extends SnaplakeError {
  readonly entry: string;
  readonly roots: readonly string[];
  constructor(manifestUri: string, entry: string, confinement: SnapshotConfinement) {
    const roots = confinement.roots.join(", ");
    const problem =
      confinement.s3Only && !isS3Uri(entry)
        ? "a local path, and a manifest stored in S3 may name S3 objects only"
        : `outside the snapshot's allowed roots (${roots})`;
    super(
      "MANIFEST_ENTRY_OUTSIDE_ROOTS",
      `Manifest ${manifestUri} names ${entry}: ${problem}. Nothing was read. Move the file under ${roots}, ` +
        "or list its folder or bucket in snapshot.allowedRoots.",
    );
    this.entry = entry;
    this.roots = confinement.roots;
  }
}

/** Whether `uri` lies under one of `roots` (local paths: no ".." segments, compared after normalizing). */
export function isUnderRoots(uri: string, roots: readonly string[]): boolean {
  let normalized: string;
  try {
    const parsed = parseUri(uri);
    if (parsed.scheme === "file" && parsed.path.split("/").includes("..")) return false;
    normalized = normalizeUri(uri);
  } catch {
    return false;
  }
  return roots.some((root) => normalized.startsWith(root));
}

function bucketOf(uri: string): string {
  const parsed = parseUri(uri);
  return parsed.scheme === "s3" ? parsed.bucket : "";
}

function parseJson<T>(schema: z.ZodType<T>, text: string, uri: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(uri, `not valid JSON (${(error as Error).message})`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`Manifest ${uri}`, formatZodIssues(result.error.issues));
  return result.data;
}

export async function readJson<T>(storage: Storage, uri: string, schema: z.ZodType<T>): Promise<T> {
  return parseJson(schema, (await storage.get(uri)).toString("utf8"), uri);
}

/** As `readJson`, undefined when the file does not exist (yet); any other failure still throws. */
export async function readJsonIfPresent<T>(
  storage: Storage,
  uri: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  try {
    return await readJson(storage, uri, schema);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
}

export async function writeJson(storage: Storage, uri: string, value: unknown): Promise<void> {
  await storage.put(uri, `${JSON.stringify(value, null, 2)}\n`, { contentType: "application/json" });
}

// --- snapshot manifest -------------------------------------------------------------------------------

const summarySchema = z.object({
  manifest: z.string().min(1),
  size: z.number().nullish(),
  n_record: z.number().nullish(),
  fingerprint: z.string().nullish(),
  /** Ours: SHA-256 of the data file the fingerprint was computed from (see readSnapshotManifest). */
  data_sha256: z.string().nullish(),
  details: z.record(z.string(), z.unknown()).nullish(),
});

export function summarizeFiles(
  files: readonly DataFile[],
): Pick<SnapshotManifest, "size" | "nRecord" | "fingerprint"> {
  return { ...totals(files), fingerprint: fingerprintFiles(files) };
}

function totals(files: readonly DataFile[]): Pick<SnapshotManifest, "size" | "nRecord"> {
  let size = 0;
  let nRecord: number | null = 0;
  for (const file of files) {
    size += file.size;
    nRecord = nRecord === null || file.nRecord === null ? null : nRecord + file.nRecord;
  }
  return { size, nRecord };
}

/** Writes the data file (Parquet: uri, etag, size, n_record) first and the summary last, so a reader never sees a summary without its data. */
export async function writeSnapshotManifest(
  storage: Storage,
  summaryUri: string,
  files: readonly DataFile[],
  details: Record<string, unknown> = {},
): Promise<SnapshotManifest> {
  const dataUri = joinUri(
    parentFolder(summaryUri),
    baseName(summaryUri)
      .replace(/summary/, "data")
      .replace(/\.json$/, ".parquet"),
  );
  const summary = summarizeFiles(files); // a file without an etag fails here, before anything is written
  const frame = pl.DataFrame(
    {
      uri: files.map((f) => f.uri),
      etag: files.map((f) => f.etag),
      size: files.map((f) => f.size),
      n_record: files.map((f) => f.nRecord),
    },
    { schema: { uri: pl.Utf8, etag: pl.Utf8, size: pl.Int64, n_record: pl.Int64 } },
  );
  const data = frame.writeParquet({ compression: "zstd" });
  await storage.put(dataUri, data);
  // A lone UTF-16 surrogate can't be written as UTF-8: what reads back then differs from what was hashed.
  const exactStrings = files.every((f) => f.uri.isWellFormed() && f.etag.isWellFormed());
  await writeJson(storage, summaryUri, {
    manifest: dataUri,
    size: summary.size,
    n_record: summary.nRecord,
    n_file: files.length,
    fingerprint: summary.fingerprint,
    ...(exactStrings ? { data_sha256: sha256Hex(data) } : {}),
    details,
  });
  return { summaryUri, dataUri, files: [...files], ...summary, details };
}

/**
 * A numeric column's values: a Float64Array when it has no nulls (one copy instead of one N-API call a
 * value), [] when it has only nulls, the values one by one otherwise (and for non-numeric columns).
 */
function numberColumn(column: pl.Series): ArrayLike<unknown> {
  if (!column.isNumeric()) return column.toArray();
  const nulls = column.nullCount();
  if (nulls === 0) return column.cast(pl.Float64).toTypedArray() as Float64Array;
  if (nulls === column.length) return [];
  return column.toArray();
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === "bigint" ? Number(value) : Number(value);
}

/**
 * Reads a snapshot manifest: ours, or one written by the user (s3manifesto's summary JSON pointing at a
 * Parquet, NDJSON or JSON-array data file with `uri`, `etag`, `size` and optional `n_record`).
 * With `confinement`, every file it names must lie under the roots (its data file may also lie beside the
 * summary), checked before the data file is read and before the manifest is returned.
 */
export async function readSnapshotManifest(
  storage: Storage,
  summaryUri: string,
  confinement?: SnapshotConfinement,
): Promise<SnapshotManifest> {
  const summary = await readJson(storage, summaryUri, summarySchema);
  const dataUri = summary.manifest;
  if (confinement) {
    const beside = isS3Uri(summaryUri)
      ? `s3://${bucketOf(summaryUri)}/`
      : parentFolder(normalizeUri(summaryUri));
    const dataRoots = { ...confinement, roots: [...confinement.roots, beside] };
    if (!isUnderRoots(dataUri, dataRoots.roots) || (dataRoots.s3Only && !isS3Uri(dataUri)))
      throw new ManifestEntryOutsideRootsError(summaryUri, dataUri, dataRoots);
  }
  const raw = await storage.get(dataUri);
  const files: DataFile[] = [];
  const bad = (row: number, problem: string) => new ManifestError(dataUri, `row ${row + 1}: ${problem}`);
  if (/\.parquet$/i.test(dataUri)) {
    const frame = pl.readParquet(raw);
    for (const column of ["uri", "etag", "size"]) {
      if (!frame.columns.includes(column)) throw new ManifestError(dataUri, `missing column "${column}"`);
    }
    const uris = frame.getColumn("uri").toArray() as Array<string | null>;
    const etags = frame.getColumn("etag").toArray() as Array<string | null>;
    const sizes = numberColumn(frame.getColumn("size"));
    const counts = frame.columns.includes("n_record") ? numberColumn(frame.getColumn("n_record")) : [];
    for (let i = 0; i < uris.length; i++) {
      const uri = uris[i];
      if (!uri) throw bad(i, "empty uri");
      const etag = etags[i];
      if (!etag) throw new MissingEtagError(uri);
      const size = numberOrNull(sizes[i]);
      if (size === null || size < 0) throw bad(i, `${uri} has no size`);
      files.push({ uri, etag, size, nRecord: numberOrNull(counts[i]) });
    }
  } else {
    const text = raw.toString("utf8").trim();
    const rows: unknown[] = text.startsWith("[")
      ? JSON.parse(text)
      : text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
    const entry = z.object({
      uri: z.string().min(1),
      etag: z.string().nullish(),
      size: z.number().nonnegative(),
      n_record: z.number().nullish(),
    });
    rows.forEach((row, i) => {
      const parsed = entry.safeParse(row);
      if (!parsed.success) throw bad(i, formatZodIssues(parsed.error.issues).join("; "));
      if (!parsed.data.etag) throw new MissingEtagError(parsed.data.uri);
      files.push({
        uri: parsed.data.uri,
        etag: parsed.data.etag,
        size: parsed.data.size,
        nRecord: parsed.data.n_record ?? null,
      });
    });
  }
  if (confinement) {
    for (const file of files) {
      if (!isUnderRoots(file.uri, confinement.roots) || (confinement.s3Only && !isS3Uri(file.uri)))
        throw new ManifestEntryOutsideRootsError(dataUri, file.uri, confinement);
    }
  }
  // Our own summary names the data file's SHA-256: when the bytes still match, its fingerprint is the
  // fingerprint of these very files, and hashing a million entries again (~0.5 s) can be skipped.
  const written =
    summary.fingerprint && summary.data_sha256 && summary.data_sha256 === sha256Hex(raw)
      ? summary.fingerprint
      : null;
  return {
    summaryUri,
    dataUri,
    files,
    ...totals(files),
    fingerprint: written ?? fingerprintFiles(files),
    details: summary.details ?? {},
  };
}

// --- group manifests -----------------------------------------------------------------------------------

const dataFileSchema = z.object({
  uri: z.string(),
  etag: z.string().min(1),
  size: z.number(),
  nRecord: z.number().nullable(),
});

/** One unit of work for step 1.3: snapshot files read together. */
export const snapshotFileGroupSchema = z.object({
  kind: z.literal("snapshot-file-group"),
  fingerprint: z.string(),
  size: z.number(),
  nRecord: z.number().nullable(),
  files: z.array(dataFileSchema),
});
export type SnapshotFileGroup = z.infer<typeof snapshotFileGroupSchema>;

/**
 * How step 1.3 wrote a staging file: step 2.3 copies a file whose layout is the one the lake asks for now
 * instead of decoding and encoding it again (a setting changed since, with a reset from step 2.3, and the
 * file is rewritten).
 */
export const stagingLayoutSchema = z.object({
  compression: z.string(),
  rowGroupSize: z.number(),
  sortBy: z.array(z.object({ column: z.string(), descending: z.boolean() })),
  /** The latest row per record id kept within the file, by these columns; null when not de-duplicated. */
  dedupe: z.object({ recordIdColumn: z.string(), updateTimeColumn: z.string() }).nullable(),
});
export type StagingLayout = z.infer<typeof stagingLayoutSchema>;

/**
 * The lake's final form, which step 1.3 may write staging files in so that step 2.3 can copy them as they
 * are: each file sorted, in the lake's codec and row-group size, with only the latest version of each
 * record (within the group) when de-duplicating.
 */
export interface LakeLayout {
  sortBy: ReadonlyArray<{ column: string; descending: boolean }>;
  compression: Compression;
  rowGroupSize: number;
  dedupe?: { recordIdColumn: string; updateTimeColumn: string } | undefined;
}

export function stagingLayoutOf(layout: LakeLayout): StagingLayout {
  return {
    compression: layout.compression,
    rowGroupSize: layout.rowGroupSize,
    sortBy: layout.sortBy.map((k) => ({ column: k.column, descending: k.descending })),
    dedupe: layout.dedupe
      ? { recordIdColumn: layout.dedupe.recordIdColumn, updateTimeColumn: layout.dedupe.updateTimeColumn }
      : null,
  };
}

/** Whether a staging file was written in `expected` layout (absent: written before layouts were recorded). */
export function hasLayout(file: { layout?: StagingLayout | undefined }, expected: StagingLayout): boolean {
  if (!file.layout) return false;
  const { compression, rowGroupSize, sortBy, dedupe } = file.layout;
  return (
    compression === expected.compression &&
    rowGroupSize === expected.rowGroupSize &&
    sortBy.length === expected.sortBy.length &&
    sortBy.every(
      (k, i) => k.column === expected.sortBy[i]!.column && k.descending === expected.sortBy[i]!.descending,
    ) &&
    dedupe?.recordIdColumn === expected.dedupe?.recordIdColumn &&
    dedupe?.updateTimeColumn === expected.dedupe?.updateTimeColumn
  );
}

const stagingFileSchema = dataFileSchema.extend({
  nRecord: z.number(),
  /** Hive path of the partition, "" when the lake is not partitioned. */
  partition: z.string(),
  /** Rows of this partition step 1.3 removed as older versions of a record (de-duplication in the group). */
  duplicatesRemoved: z.number().optional(),
  /** Absent in files written before layouts were recorded: those are always rewritten. */
  layout: stagingLayoutSchema.optional(),
});
export type StagingFile = z.infer<typeof stagingFileSchema>;

/** Step 1.3's record of what one snapshot group became. */
export const stagingManifestSchema = z.object({
  kind: z.literal("staging-file-group"),
  snapshotGroup: z.string(),
  rowsRead: z.number(),
  rowsWritten: z.number(),
  badRows: z.number(),
  /** Rows the reader removed on purpose, by reason (e.g. natural duplicates). */
  dropped: z.record(z.string(), z.number()).default({}),
  /** Rows read from each snapshot file of the group, by URI, when the reader reported them. */
  rowsPerFile: z.record(z.string(), z.number()).optional(),
  /** Older versions of records removed within the group (rowsRead = written + bad + dropped + these). */
  duplicatesRemoved: z.number().optional(),
  /**
   * The partition keys' types (names as in src/frames/column-types.ts) before step 1.3 dropped them from
   * the files; absent in manifests written before they were recorded, and when the group had no rows.
   */
  partitionTypes: z.record(z.string(), z.string().min(1)).optional(),
  files: z.array(stagingFileSchema),
});
export type StagingManifest = z.infer<typeof stagingManifestSchema>;

/** One unit of work for step 2.3: staging files of one partition compacted together. */
export const partitionFileGroupSchema = z.object({
  kind: z.literal("partition-file-group"),
  fingerprint: z.string(),
  partition: z.string(),
  /**
   * promote: one staging file copied to its lake name as it is (no decoding); merge: small files of a
   * partition written as files of about the target size; dedupe-merge: every file of a partition, so every
   * version of a record meets. Older plans have none: merge.
   */
  action: z.enum(["promote", "merge", "dedupe-merge"]).default("merge"),
  estimatedBytes: z.number(),
  nRecord: z.number(),
  files: z.array(stagingFileSchema),
});
export type PartitionFileGroup = z.infer<typeof partitionFileGroupSchema>;

/** Step 2.1's one schema for the whole lake: every lake file has exactly these columns and types. */
export const lakeSchemaSchema = z.object({
  kind: z.literal("lake-schema"),
  /** Type names as in src/frames/column-types.ts, e.g. "Int64", "String", "Datetime(us, tz)". */
  columns: z.array(z.object({ name: z.string().min(1), type: z.string().min(1) })),
  /**
   * The partition keys' types, widened across the staging manifests that recorded them (they are folder
   * names in the files, not columns). Absent in projects planned before they were recorded: strings.
   */
  partitionColumns: z.array(z.object({ name: z.string().min(1), type: z.string().min(1) })).optional(),
});
export type LakeSchema = z.infer<typeof lakeSchemaSchema>;
