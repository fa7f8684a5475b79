/**
 * Step 0: the snapshot manifest. Either list the source folder (every page) and write the manifest, or read
 * one the user wrote. Either way every file has an etag, so the fingerprint is never null.
 */
import { SnaplakeError } from "../errors.js";
import type { Locations } from "../models/locations.js";
import {
  type DataFile,
  readSnapshotManifest,
  type SnapshotManifest,
  writeSnapshotManifest,
} from "../models/manifests.js";
import type { Storage } from "../storage/types.js";
import { asFolder, baseName, normalizeUri, relativeKey } from "../storage/uri.js";

export type SnapshotSource = { uri: string; include?: string } | { manifestUri: string };

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

export async function buildSnapshotManifest(input: {
  storage: Storage;
  locations: Locations;
  source: SnapshotSource;
}): Promise<SnapshotManifest> {
  const { storage, locations, source } = input;
  if ("manifestUri" in source) return readSnapshotManifest(storage, normalizeUri(source.manifestUri));

  const folder = asFolder(normalizeUri(source.uri));
  const include = source.include ? new RegExp(source.include) : undefined;
  const files: DataFile[] = [];
  for await (const object of storage.list(folder)) {
    if (object.size === 0 || !isDataFileName(baseName(object.uri))) continue;
    if (include && !include.test(relativeKey(folder, object.uri))) continue;
    files.push({ uri: object.uri, etag: object.etag, size: object.size, nRecord: null });
  }
  if (files.length === 0) throw new EmptySnapshotError(folder, source.include);
  return writeSnapshotManifest(storage, locations.snapshotManifestSummary, files, {
    source: folder,
    include: source.include ?? null,
  });
}
