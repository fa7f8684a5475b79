/**
 * Step 0: the snapshot manifest. List the source folder (every page) and write the manifest, read one the
 * user wrote, or write one from a DynamoDB export's own manifests (each file's item count as its row count,
 * which step 3 reconciles file by file), or from one COMPLETE table of an RDS/Aurora snapshot export (its
 * Parquet files). Every file has an etag, so the fingerprint is never null, and every file lies under the
 * snapshot's roots (a user's manifest is checked before any file it names is read).
 */
import picomatch from "picomatch";
import { SnaplakeError } from "../errors.js";
import {
  DynamoDbExportManifestError,
  readDynamoDbExportManifest,
} from "../models/dynamodb-export-manifest.js";
import type { Locations } from "../models/locations.js";
import {
  type DataFile,
  readSnapshotManifest,
  type SnapshotManifest,
  type SnapshotSource,
  snapshotConfinement,
  writeSnapshotManifest,
} from "../models/manifests.js";
import { readRdsExportTable } from "../models/rds-export-manifest.js";
import type { ObjectSummary, Storage } from "../storage/types.js";
import { asFolder, baseName, normalizeUri, relativeKey } from "../storage/uri.js";

export type { SnapshotSource };

export class EmptySnapshotError extends SnaplakeError {
  constructor(uri: string, filters?: string) {
    super(
      "EMPTY_SNAPSHOT",
      `No data files under ${uri}${filters ? ` ${filters}` : ""}: check snapshot.uri and snapshot.include`,
    );
  }
}

type ListedSnapshot = Extract<SnapshotSource, { uri: string }>;

const asList = (globs: string | readonly string[] | undefined): readonly string[] =>
  globs === undefined ? [] : typeof globs === "string" ? [globs] : globs;

/** The listing filters in words, for messages: `matching *.parquet, not matching tmp/**`. */
function describeFilters(source: ListedSnapshot): string {
  const parts = [
    asList(source.include).length > 0 ? `matching ${asList(source.include).join(" or ")}` : "",
    source.includeRegex ? `matching /${source.includeRegex}/` : "",
    asList(source.exclude).length > 0 ? `not matching ${asList(source.exclude).join(" or ")}` : "",
  ];
  return parts.filter(Boolean).join(", ");
}

/** A glob without "/" matches the file name wherever it is; one with "/" the path relative to the folder. */
function globMatcher(globs: readonly string[]): ((key: string) => boolean) | undefined {
  if (globs.length === 0) return undefined;
  const matchers = globs.map((glob) => {
    const matches = picomatch(glob);
    return glob.includes("/") ? matches : (key: string) => matches(key.slice(key.lastIndexOf("/") + 1));
  });
  return (key) => matchers.some((matches) => matches(key));
}

/** Hadoop/Spark markers and hidden files (`_SUCCESS`, `.crc`) are never data. */
function isDataFileName(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".");
}

/** Which listed objects of the snapshot folder are its data files. */
function dataFileFilter(folder: string, source: ListedSnapshot) {
  const pattern = source.includeRegex ? new RegExp(source.includeRegex) : undefined;
  const included = globMatcher(asList(source.include));
  const excluded = globMatcher(asList(source.exclude));
  return (object: ObjectSummary) => {
    if (object.size === 0 || !isDataFileName(baseName(object.uri))) return false;
    const key = relativeKey(folder, object.uri);
    return (!pattern || pattern.test(key)) && (!included || included(key)) && !excluded?.(key);
  };
}

/**
 * The snapshot folder holds files the manifest doesn't (added after step 0), or files of another size: the
 * lake, made from the manifest, is not the folder's content. A project is one snapshot: a new one needs a
 * new projectId.
 */
export class SnapshotChangedError extends SnaplakeError {
  readonly added: string[];
  readonly changed: string[];
  constructor(folder: string, changes: SnapshotChanges, resultUri: string) {
    const list = (uris: string[]) => uris.slice(0, 5).join(", ") + (uris.length > 5 ? ", ..." : "");
    const found = [
      changes.added.length > 0 ? `${changes.added.length} file(s) added (${list(changes.added)})` : "",
      changes.changed.length > 0
        ? `${changes.changed.length} file(s) changed (${list(changes.changed)})`
        : "",
    ].filter(Boolean);
    super(
      "SNAPSHOT_CHANGED",
      `The snapshot folder ${folder} changed after step 0 listed it: ${found.join(" and ")}. The lake holds ` +
        `the snapshot as step 0 recorded it, without these changes. Convert the new snapshot under a new ` +
        `projectId, or start this project over with \`snaplake reset --from-step 0\`. Details: ${resultUri}`,
    );
    this.added = changes.added;
    this.changed = changes.changed;
  }
}

export interface SnapshotChanges {
  /** The listed folder, or null for a manifest the user wrote (it defines the snapshot: nothing to compare). */
  folder: string | null;
  added: string[];
  changed: string[];
}

/** Lists the snapshot folder again (sizes only, no file is read) and compares it with the manifest. */
export async function findSnapshotChanges(
  storage: Storage,
  manifest: Pick<SnapshotManifest, "files">,
  source: SnapshotSource,
): Promise<SnapshotChanges> {
  if (!("uri" in source)) return { folder: null, added: [], changed: [] };
  const folder = asFolder(normalizeUri(source.uri));
  const isData = dataFileFilter(folder, source);
  const sizes = new Map(manifest.files.map((file) => [file.uri, file.size]));
  const added: string[] = [];
  const changed: string[] = [];
  for await (const object of storage.listSummaries(folder)) {
    if (!isData(object)) continue;
    const size = sizes.get(object.uri);
    if (size === undefined) added.push(object.uri);
    else if (size !== object.size) changed.push(object.uri);
  }
  return { folder, added, changed };
}

export async function buildSnapshotManifest(input: {
  storage: Storage;
  locations: Locations;
  source: SnapshotSource;
  /** A DynamoDB incremental export is read only for a merge (table.mode "merge"); refused otherwise. */
  acceptIncrementalExport?: boolean;
}): Promise<SnapshotManifest> {
  const { storage, locations, source } = input;
  if ("manifestUri" in source)
    return readSnapshotManifest(storage, normalizeUri(source.manifestUri), snapshotConfinement(source));
  const { files, details } = await listSnapshotFiles(storage, source, input.acceptIncrementalExport ?? false);
  return writeSnapshotManifest(storage, locations.snapshotManifestSummary, files, details);
}

/**
 * What step 0 records, read only (for `run --dry-run`): the snapshot's data files, and the details the
 * manifest keeps with them. Refuses what step 0 refuses (an empty snapshot, an incremental DynamoDB export).
 */
export async function listSnapshotFiles(
  storage: Storage,
  source: SnapshotSource,
  acceptIncrementalExport = false,
): Promise<{ files: DataFile[]; details: Record<string, unknown> }> {
  if ("manifestUri" in source) {
    const manifest = await readSnapshotManifest(
      storage,
      normalizeUri(source.manifestUri),
      snapshotConfinement(source),
    );
    return { files: manifest.files, details: manifest.details };
  }
  if ("dynamodbExport" in source)
    return listDynamoDbExport(storage, source.dynamodbExport, acceptIncrementalExport);
  if ("rdsExport" in source) {
    const exported = await readRdsExportTable(storage, source.rdsExport, source.table);
    if (exported.files.length === 0) throw new EmptySnapshotError(exported.tableFolder);
    return { files: exported.files, details: { source: exported.folder, rdsExport: exported.details } };
  }
  const folder = asFolder(normalizeUri(source.uri));
  const isData = dataFileFilter(folder, source);
  const files: DataFile[] = [];
  for await (const object of storage.list(folder)) {
    if (isData(object)) files.push({ uri: object.uri, etag: object.etag, size: object.size, nRecord: null });
  }
  if (files.length === 0) throw new EmptySnapshotError(folder, describeFilters(source));
  const details = {
    source: folder,
    include: source.include ?? null,
    ...(source.exclude ? { exclude: source.exclude } : {}),
    ...(source.includeRegex ? { includeRegex: source.includeRegex } : {}),
  };
  return { files, details };
}

/**
 * The snapshot manifest of a DynamoDB full export: its data files as `manifest-files.json` lists them (uri,
 * AWS's etag, itemCount as nRecord), and the export's details. An incremental export's lines are changes,
 * not rows: it is refused unless the run merges them into a table.
 */
async function listDynamoDbExport(
  storage: Storage,
  exportUri: string,
  acceptIncremental: boolean,
): Promise<{ files: DataFile[]; details: Record<string, unknown> }> {
  const exported = await readDynamoDbExportManifest(storage, exportUri);
  if (exported.exportType !== "FULL_EXPORT" && !acceptIncremental) {
    throw new DynamoDbExportManifestError(
      exported.summaryUri,
      `exportType ${exported.exportType}: its lines are changes, not rows; merge them into a Delta table with table: { "format": "delta", "mode": "merge" } and recordIdColumn set to the table's key column(s)`,
    );
  }
  if (exported.files.length === 0) throw new EmptySnapshotError(exported.manifestFilesUri);
  return {
    files: exported.files,
    details: {
      source: exported.folder,
      dynamodbExport: {
        exportArn: exported.exportArn,
        exportType: exported.exportType,
        exportTime: exported.exportTime,
        ...(exported.exportType === "INCREMENTAL_EXPORT"
          ? { exportFromTime: exported.exportFromTime, exportToTime: exported.exportToTime }
          : {}),
        itemCount: exported.itemCount,
        summaryUri: exported.summaryUri,
        manifestFilesUri: exported.manifestFilesUri,
      },
    },
  };
}
