/**
 * Step 0: the snapshot manifest. List the source folder (every page) and write the manifest, read one the
 * user wrote, or write one from a DynamoDB export's own manifests (each file's item count as its row count,
 * which step 3 reconciles file by file), or from one COMPLETE table of an RDS/Aurora snapshot export (its
 * Parquet files). Every file has an etag, so the fingerprint is never null, and every file lies under the
 * snapshot's roots (a user's manifest is checked before any file it names is read).
 */
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
  constructor(uri: string, include?: string) {
    super(
      "EMPTY_SNAPSHOT",
      `No data files under ${uri}${include ? ` matching /${include}/` : ""}: check snapshot.uri and snapshot.include`,
    );
  }
}

/** Hadoop/Spark markers and hidden files (`_SUCCESS`, `.crc`) are never data. */
function isDataFileName(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".");
}

/** Which listed objects of the snapshot folder are its data files. */
function dataFileFilter(folder: string, include: string | undefined) {
  const pattern = include ? new RegExp(include) : undefined;
  return (object: ObjectSummary) =>
    object.size > 0 &&
    isDataFileName(baseName(object.uri)) &&
    (!pattern || pattern.test(relativeKey(folder, object.uri)));
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
  const isData = dataFileFilter(folder, source.include);
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
  if ("dynamodbExport" in source)
    return buildDynamoDbExportManifest(
      storage,
      locations,
      source.dynamodbExport,
      input.acceptIncrementalExport ?? false,
    );
  if ("rdsExport" in source) {
    const exported = await readRdsExportTable(storage, source.rdsExport, source.table);
    if (exported.files.length === 0) throw new EmptySnapshotError(exported.tableFolder);
    return writeSnapshotManifest(storage, locations.snapshotManifestSummary, exported.files, {
      source: exported.folder,
      rdsExport: exported.details,
    });
  }

  const folder = asFolder(normalizeUri(source.uri));
  const isData = dataFileFilter(folder, source.include);
  const files: DataFile[] = [];
  for await (const object of storage.list(folder)) {
    if (isData(object)) files.push({ uri: object.uri, etag: object.etag, size: object.size, nRecord: null });
  }
  if (files.length === 0) throw new EmptySnapshotError(folder, source.include);
  return writeSnapshotManifest(storage, locations.snapshotManifestSummary, files, {
    source: folder,
    include: source.include ?? null,
  });
}

/**
 * The snapshot manifest of a DynamoDB full export: its data files as `manifest-files.json` lists them (uri,
 * AWS's etag, itemCount as nRecord), and the export's details. An incremental export's lines are changes,
 * not rows: it is refused unless the run merges them into a table.
 */
async function buildDynamoDbExportManifest(
  storage: Storage,
  locations: Locations,
  exportUri: string,
  acceptIncremental: boolean,
): Promise<SnapshotManifest> {
  const exported = await readDynamoDbExportManifest(storage, exportUri);
  if (exported.exportType !== "FULL_EXPORT" && !acceptIncremental) {
    throw new DynamoDbExportManifestError(
      exported.summaryUri,
      `exportType ${exported.exportType}: its lines are changes, not rows; merge them into a Delta table with table: { "format": "delta", "mode": "merge" } and recordIdColumn set to the table's key column(s)`,
    );
  }
  if (exported.files.length === 0) throw new EmptySnapshotError(exported.manifestFilesUri);
  return writeSnapshotManifest(storage, locations.snapshotManifestSummary, exported.files, {
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
  });
}
