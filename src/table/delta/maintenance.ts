/**
 * Maintenance across runs: which small files to bin-pack (the rewrite itself is the caller's, committed
 * with commitDeltaRewrite), and vacuum.
 */
import type { Storage } from "../../storage/types.js";
import { asFolder, relativeKey } from "../../storage/uri.js";
import { packSmallFiles, type SmallFileGroup } from "../optimize-plan.js";
import type { VacuumResult } from "../types.js";
import { tableRoot } from "./commit.js";
import { loadSnapshot } from "./log.js";
import { type DeltaLogStore, logFolder } from "./log-store.js";
import { type DeltaTable, type DeltaTableFile, fileUri } from "./table.js";

export type OptimizeGroup = SmallFileGroup<DeltaTableFile>;

/** The small files of a Delta table version to pack together (see packSmallFiles). */
export function planOptimize(
  table: DeltaTable,
  options: { targetFileSize: number; minFileSize?: number },
): OptimizeGroup[] {
  return packSmallFiles(table.files, table.partitionColumns, options);
}

/**
 * Deletes the data files that no version inside the retention window references: files removed from the
 * table more than `retainMs` ago, and files the log never mentions (a crashed writer's) older than
 * `retainMs`, so a run still writing its files before its commit keeps them. The log (`_delta_log/`)
 * and hidden folders (`_`, `.`) are never touched. `dryRun` only lists.
 */
export async function vacuum(
  storage: Storage,
  uri: string,
  options: { retainMs: number; dryRun: boolean; logStore?: DeltaLogStore; now?: number },
): Promise<VacuumResult> {
  const tableUri = tableRoot(uri);
  const snapshot = await loadSnapshot(storage, tableUri, { logStore: options.logStore });
  const cutoff = (options.now ?? Date.now()) - options.retainMs;
  const active = new Set([...snapshot.files.keys()].map((path) => fileUri(tableUri, path)));
  const recentlyRemoved = new Set(
    [...snapshot.tombstones.values()]
      .filter((remove) => (remove.deletionTimestamp ?? 0) >= cutoff)
      .map((remove) => fileUri(tableUri, remove.path)),
  );
  const root = asFolder(tableUri);
  const files: string[] = [];
  let bytes = 0;
  for await (const object of storage.listSummaries(root)) {
    if (object.uri.startsWith(logFolder(tableUri))) continue;
    const hidden = relativeKey(root, object.uri)
      .split("/")
      .some((segment) => segment.startsWith("_") || segment.startsWith("."));
    if (hidden || active.has(object.uri) || recentlyRemoved.has(object.uri)) continue;
    if (object.lastModified.getTime() >= cutoff) continue;
    files.push(object.uri);
    bytes += object.size;
  }
  if (!options.dryRun && files.length > 0) await storage.delete(files);
  return { files, bytes, deleted: !options.dryRun };
}
