/**
 * Maintenance across runs: which small files to bin-pack (the rewrite itself is the caller's, committed
 * with commitDeltaRewrite), and vacuum.
 */
import { packBalanced } from "../../models/pack.js";
import type { Storage } from "../../storage/types.js";
import { asFolder, relativeKey } from "../../storage/uri.js";
import type { VacuumResult } from "../types.js";
import { tableRoot } from "./commit.js";
import { loadSnapshot } from "./log.js";
import { type DeltaLogStore, logFolder } from "./log-store.js";
import { type DeltaTable, type DeltaTableFile, fileUri } from "./table.js";

export interface OptimizeGroup {
  partitionValues: Record<string, string | null>;
  /** The small files to read and rewrite together into about `targetFileSize` bytes. */
  files: DeltaTableFile[];
  bytes: number;
}

/**
 * Per partition, the files smaller than `minFileSize` (default 3/4 of the target) are packed into groups
 * of about `targetFileSize` (packBalanced: ceil(bytes / target) groups, in path order); files near the
 * target are left alone, and a group of one file is no rewrite at all. Deterministic for a table version.
 */
export function planOptimize(
  table: DeltaTable,
  options: { targetFileSize: number; minFileSize?: number },
): OptimizeGroup[] {
  const minFileSize = options.minFileSize ?? Math.floor(options.targetFileSize * 0.75);
  const byPartition = new Map<string, DeltaTableFile[]>();
  for (const file of table.files) {
    if (file.size >= minFileSize) continue;
    const key = JSON.stringify(table.partitionColumns.map((column) => file.partitionValues[column] ?? null));
    byPartition.set(key, [...(byPartition.get(key) ?? []), file]);
  }
  const groups: OptimizeGroup[] = [];
  for (const key of [...byPartition.keys()].sort()) {
    const files = byPartition.get(key)!;
    for (const packed of packBalanced(
      files,
      options.targetFileSize,
      (f) => f.size,
      (f) => f.path,
    )) {
      if (packed.length < 2) continue;
      groups.push({
        partitionValues: packed[0]!.partitionValues,
        files: packed,
        bytes: packed.reduce((sum, file) => sum + file.size, 0),
      });
    }
  }
  return groups;
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
