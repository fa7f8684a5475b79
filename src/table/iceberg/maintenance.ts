/**
 * Vacuum for Iceberg tables: expire the snapshots no reader inside the retention window can be reading,
 * then delete the files under the table location that no remaining snapshot references.
 *
 * A snapshot is expired when it stopped being current (the next snapshot of the snapshot log was committed)
 * more than `retainMs` ago; the current snapshot never is. This is the window Delta's vacuum keeps (files
 * removed longer ago than the retention), so a query that started inside the window finds its files.
 * Files no snapshot references (a crashed or losing writer's, or a run's not committed yet) are deleted only
 * when older than `retainMs` too. The current metadata JSON and those in its metadata log (the history
 * other readers may start from), the version hint and hidden folders (`.tmp/`) are never deleted; older
 * metadata JSON files (left by a commit whose deletion failed) only when the table deletes them after
 * commits (`write.metadata.delete-after-commit.enabled`).
 */
import type { Storage } from "../../storage/types.js";
import { asFolder, relativeKey } from "../../storage/uri.js";
import { LostCommitRace, retryLostRaces } from "../commit-retry.js";
import type { VacuumResult } from "../types.js";
import { commitTableMetadata, type IcebergCatalog, type IcebergCatalogState } from "./catalog.js";
import { IcebergConflictError, IcebergTableNotFoundError } from "./errors.js";
import { readManifestEntries, readManifestList, STATUS_DELETED } from "./manifests.js";
import { currentSnapshot, type IcebergTableMetadata, TABLE_PROPERTIES, tableProperty } from "./metadata.js";

export interface IcebergVacuumResult extends VacuumResult {
  /** The snapshots expired (or, with dryRun, to expire). */
  expiredSnapshots: number[];
}

const MAX_EXPIRE_ATTEMPTS = 20;

export async function vacuumIcebergTable(
  storage: Storage,
  catalog: IcebergCatalog,
  options: { retainMs: number; dryRun: boolean; now?: number },
): Promise<IcebergVacuumResult> {
  const now = options.now ?? Date.now();
  const cutoff = now - options.retainMs;
  const loaded = await loadOrFail(catalog);
  const { state, expired } = options.dryRun
    ? { state: loaded, expired: expiredSnapshotIds(loaded.metadata, cutoff) }
    : await expireSnapshots(storage, catalog, loaded, cutoff, now);
  const gone = new Set(options.dryRun ? expired : []);
  const referenced = await referencedFiles(
    storage,
    state.metadata.snapshots.filter((s) => !gone.has(s["snapshot-id"])).map((s) => s["manifest-list"]),
  );
  const root = asFolder(catalog.tableUri);
  const { metadata } = state;
  const keepsAllMetadata = !tableProperty(metadata, TABLE_PROPERTIES.deleteMetadataAfterCommit);
  const loggedMetadata = new Set([
    state.metadataLocation,
    ...metadata["metadata-log"].map((entry) => entry["metadata-file"]),
  ]);
  const files: string[] = [];
  let bytes = 0;
  for await (const object of storage.listSummaries(root)) {
    const key = relativeKey(root, object.uri);
    const kept =
      referenced.has(object.uri) ||
      key.split("/").some((segment) => segment.startsWith(".") || segment.startsWith("_")) ||
      key === "metadata/version-hint.text" ||
      (/^metadata\/[^/]*\.metadata\.json$/.test(key) &&
        (keepsAllMetadata || loggedMetadata.has(object.uri))) ||
      object.lastModified.getTime() >= cutoff;
    if (kept) continue;
    files.push(object.uri);
    bytes += object.size;
  }
  if (!options.dryRun && files.length > 0) await storage.delete(files);
  return { files, bytes, deleted: !options.dryRun, expiredSnapshots: expired };
}

/** Commits the table without the snapshots expired at `cutoff`; on a lost race, again on top of the winner. */
function expireSnapshots(
  storage: Storage,
  catalog: IcebergCatalog,
  loaded: IcebergCatalogState,
  cutoff: number,
  now: number,
): Promise<{ state: IcebergCatalogState; expired: number[] }> {
  return retryLostRaces(
    loaded,
    async (state) => {
      const expired = expiredSnapshotIds(state.metadata, cutoff);
      if (expired.length === 0) return { state, expired };
      const next = withoutSnapshots(state.metadata, expired, now);
      if ((await commitTableMetadata(storage, catalog, state, next)) !== null) {
        return { state: await loadOrFail(catalog), expired };
      }
      const winner = await loadOrFail(catalog);
      throw new LostCommitRace(winner, currentSnapshot(winner.metadata)?.["snapshot-id"] ?? -1);
    },
    {
      maxAttempts: MAX_EXPIRE_ATTEMPTS,
      exhausted: (lost) =>
        new IcebergConflictError(
          catalog.displayName,
          currentSnapshot(loaded.metadata)?.["snapshot-id"] ?? null,
          lost.winner,
          `kept changing through ${MAX_EXPIRE_ATTEMPTS} attempts to expire snapshots`,
        ),
    },
  );
}

async function loadOrFail(catalog: IcebergCatalog): Promise<IcebergCatalogState> {
  const state = await catalog.load();
  if (!state) throw new IcebergTableNotFoundError(catalog.displayName);
  return state;
}

/** Snapshots that stopped being current before `cutoff` (never the current one). */
export function expiredSnapshotIds(metadata: IcebergTableMetadata, cutoff: number): number[] {
  const current = currentSnapshot(metadata)?.["snapshot-id"];
  const log = metadata["snapshot-log"];
  const supersededAt = new Map<number, number>();
  for (const [i, entry] of log.entries()) {
    const next = log[i + 1];
    if (next) supersededAt.set(entry["snapshot-id"], next["timestamp-ms"]);
  }
  return metadata.snapshots
    .filter((snapshot) => {
      const id = snapshot["snapshot-id"];
      if (id === current) return false;
      // A snapshot missing from the log (another writer's branch work): by its own time.
      return (supersededAt.get(id) ?? snapshot["timestamp-ms"]) < cutoff;
    })
    .map((snapshot) => snapshot["snapshot-id"]);
}

function withoutSnapshots(
  metadata: IcebergTableMetadata,
  expired: readonly number[],
  now: number,
): IcebergTableMetadata {
  const gone = new Set(expired);
  return {
    ...metadata,
    "last-updated-ms": now,
    snapshots: metadata.snapshots.filter((s) => !gone.has(s["snapshot-id"])),
    "snapshot-log": metadata["snapshot-log"].filter((e) => !gone.has(e["snapshot-id"])),
  };
}

/** Every manifest list, manifest and live data file the given manifest lists reach. */
async function referencedFiles(storage: Storage, manifestLists: readonly string[]): Promise<Set<string>> {
  const referenced = new Set<string>(manifestLists);
  for (const list of manifestLists) {
    for (const manifest of await readManifestList(storage, list)) {
      if (referenced.has(manifest.manifest_path)) continue;
      referenced.add(manifest.manifest_path);
      for (const entry of await readManifestEntries(storage, manifest)) {
        if (entry.status !== STATUS_DELETED) referenced.add(entry.data_file.file_path);
      }
    }
  }
  return referenced;
}
