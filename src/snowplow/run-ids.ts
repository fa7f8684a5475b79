/**
 * Run folders of a Snowplow enriched (or shredded) archive: `<archive>/run=YYYY-MM-DD-HH-mm-ss/`, UTC
 * (EmrEtlRunner's layout: `partition_by_run` in github.com/snowplow/snowplow,
 * `3-enrich/emr-etl-runner/lib/snowplow-emr-etl-runner/emr_job.rb`; `list_runids` in
 * github.com/snowplow/snowplow-python-analytics-sdk, `snowplow_analytics_sdk/run_manifests.py`).
 *
 * Run ids are what the Python SDK's `list_runids` returns and stores in a run manifest: the folder's key
 * relative to its bucket, with a trailing slash and no scheme (`enriched/archive/run=2017-02-21-11-40-15/`).
 * For local folders the same rule is applied to the filesystem root: the absolute path without its leading
 * slash (`data/archive/run=2017-02-21-11-40-15/`), so ids are stable whatever the working directory.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { ConfigError } from "../errors.js";
import { createStorage } from "../storage/create.js";
import type { ObjectSummary, Storage } from "../storage/types.js";
import { asFolder, baseName, normalizeUri, parseUri } from "../storage/uri.js";

const RUN_FOLDER_NAME = /^run=(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$/;
const SINCE_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SINCE_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$/;

/**
 * Storage classes whose objects can't be read without a restore. GLACIER_IR (Instant Retrieval) is readable
 * like STANDARD, so it is not in the list.
 */
export const ARCHIVED_STORAGE_CLASSES: ReadonlySet<string> = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/** How many run folders are probed for archived objects at once. */
const ARCHIVE_PROBE_CONCURRENCY = 8;

export interface RunFolder {
  /** Bucket-relative (or filesystem-root-relative) folder path with a trailing slash, as the Python SDK returns. */
  runId: string;
  /** Absolute, normalized folder URI with a trailing slash (`s3://bucket/.../run=.../`, `file:///.../run=.../`). */
  uri: string;
  /** The run's timestamp (UTC), from the folder name. */
  timestamp: Date;
}

export interface ListRunIdsOptions {
  /** Also return runs whose data sits in GLACIER or DEEP_ARCHIVE (unreadable without a restore). */
  includeArchived?: boolean;
}

/** Builds a UTC date from parts, or null when the parts don't name a real calendar date and time. */
function utcDate(parts: readonly string[]): Date | null {
  const [year, month, day, hour = 0, minute = 0, second = 0] = parts.map(Number) as number[];
  if (year === undefined || month === undefined || day === undefined) return null;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls invalid values over (Feb 30 → Mar 2); a round trip catches that.
  const valid =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return valid ? date : null;
}

/** The timestamp of a folder named `run=YYYY-MM-DD-HH-mm-ss` (no slash), or null if the name is anything else. */
export function parseRunFolderName(name: string): Date | null {
  const match = RUN_FOLDER_NAME.exec(name);
  return match ? utcDate(match.slice(1)) : null;
}

/** `run=YYYY-MM-DD-HH-mm-ss` for a date (UTC), the folder name EmrEtlRunner writes. */
export function formatRunFolderName(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `run=${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `-${pad(date.getUTCHours())}-${pad(date.getUTCMinutes())}-${pad(date.getUTCSeconds())}`
  );
}

/**
 * Parses the Populator's `--since`: `YYYY-MM-dd` (midnight UTC) or `YYYY-MM-dd-HH-mm-ss` (UTC).
 * The original used the JVM's default zone for the date form; run folders are UTC, so UTC is used here.
 */
export function parseSince(text: string): Date {
  const match = SINCE_DATE.exec(text) ?? SINCE_DATE_TIME.exec(text);
  const date = match ? utcDate(match.slice(1)) : null;
  if (!date) {
    throw new ConfigError("--since", [`expected YYYY-MM-dd or YYYY-MM-dd-HH-mm-ss (UTC), got "${text}"`]);
  }
  return date;
}

/** The run id of a folder URI: its key relative to the bucket, or its absolute path without the leading slash. */
export function runIdOf(folderUri: string): string {
  const parsed = parseUri(folderUri);
  const path = parsed.scheme === "s3" ? parsed.key : parsed.path.replace(/^\/+/, "");
  return asFolder(path);
}

/** Lets callers pass an S3Client where a Storage is expected, as the SDKs take an S3 client. */
export type RunSource = Storage | S3Client;

export function storageFromSource(source: RunSource): Storage {
  return "listFolders" in source ? source : createStorage({ s3: source });
}

/**
 * Every run folder directly under `archiveUri` (s3://, s3a://, s3n:// or a local folder), in chronological
 * order. Only folders named exactly `run=YYYY-MM-DD-HH-mm-ss/` with a real date and time count; anything else
 * (`run=2017-02-30-...`, `run-2017-...`, `tmp/`) is ignored. Archived runs are included: see `isArchivedRun`.
 */
export async function listRuns(source: RunSource, archiveUri: string): Promise<RunFolder[]> {
  const storage = storageFromSource(source);
  const folders = await storage.listFolders(asFolder(normalizeUri(archiveUri)));
  const runs: RunFolder[] = [];
  for (const uri of folders) {
    const timestamp = parseRunFolderName(baseName(uri));
    if (timestamp) runs.push({ runId: runIdOf(uri), uri: asFolder(uri), timestamp });
  }
  return runs.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
}

/** Markers (`_SUCCESS`), hidden files and empty objects: never event data. */
export function isDataObject(object: ObjectSummary): boolean {
  const name = baseName(object.uri);
  return object.size > 0 && !name.startsWith("_") && !name.startsWith(".");
}

/**
 * True when any data object of the run sits in an archived storage class, so the run can't be read in full.
 * Unlike the Python SDK, which probes only the first three objects for `GLACIER`, every object is checked
 * (one listing of the run folder) and DEEP_ARCHIVE counts too.
 */
export async function isArchivedRun(storage: Storage, runUri: string): Promise<boolean> {
  for await (const object of storage.listSummaries(asFolder(runUri))) {
    if (isDataObject(object) && ARCHIVED_STORAGE_CLASSES.has(object.storageClass)) return true;
  }
  return false;
}

/**
 * The Python SDK's `list_runids`: run ids (bucket-relative folder paths with a trailing slash) under
 * `archiveUri`, chronological, following every page of the listing. Runs whose data is in GLACIER or
 * DEEP_ARCHIVE are skipped unless `includeArchived`.
 */
export async function listRunIds(
  source: RunSource,
  archiveUri: string,
  options: ListRunIdsOptions = {},
): Promise<string[]> {
  const storage = storageFromSource(source);
  const runs = await listRuns(storage, archiveUri);
  if (options.includeArchived) return runs.map((run) => run.runId);
  const limit = pLimit(ARCHIVE_PROBE_CONCURRENCY);
  const archived = await Promise.all(runs.map((run) => limit(() => isArchivedRun(storage, run.uri))));
  return runs.filter((_, i) => !archived[i]).map((run) => run.runId);
}
