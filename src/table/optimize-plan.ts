/**
 * Optimize planning, shared by the table formats: per partition, which small files to rewrite together
 * (the formats differ only in how they list their live files and commit the swap).
 */
import { sha256Hex } from "../models/fingerprint.js";
import { packBalanced } from "../models/pack.js";
import { joinUri, parentFolder } from "../storage/uri.js";
import type { OptimizePlan, OptimizePlanGroup } from "./types.js";

/** The idempotence key of an optimize plan's commit: the same plan, from any project, commits once. */
export const optimizeAppId = (plan: OptimizePlan) => `snaplake-optimize-${plan.id}`;

/** A live data file as optimize sees it. */
export interface PlannedFile {
  /** The file's name in the table (Delta: the log's relative path; Iceberg: its absolute URI). */
  path: string;
  uri: string;
  partitionValues: Record<string, string | null>;
  size: number;
  /** Rows by the table's statistics, null when the writer recorded none. */
  rows: number | null;
}

export interface SmallFileGroup<F extends PlannedFile> {
  partitionValues: Record<string, string | null>;
  /** The small files to read and rewrite together into about `targetFileSize` bytes. */
  files: F[];
  bytes: number;
}

/**
 * Per partition, the files smaller than `minFileSize` (default 3/4 of the target) are packed into groups
 * of about `targetFileSize` (packBalanced: ceil(bytes / target) groups, in path order); files near the
 * target are left alone, and a group of one file is no rewrite at all. Deterministic for a table version.
 */
export function packSmallFiles<F extends PlannedFile>(
  files: readonly F[],
  partitionColumns: readonly string[],
  options: { targetFileSize: number; minFileSize?: number },
): SmallFileGroup<F>[] {
  const minFileSize = options.minFileSize ?? Math.floor(options.targetFileSize * 0.75);
  const byPartition = new Map<string, F[]>();
  for (const file of files) {
    if (file.size >= minFileSize) continue;
    const key = JSON.stringify(partitionColumns.map((column) => file.partitionValues[column] ?? null));
    byPartition.set(key, [...(byPartition.get(key) ?? []), file]);
  }
  const groups: SmallFileGroup<F>[] = [];
  for (const key of [...byPartition.keys()].sort()) {
    const packed = packBalanced(
      byPartition.get(key)!,
      options.targetFileSize,
      (f) => f.size,
      (f) => f.path,
    );
    for (const group of packed) {
      if (group.length < 2) continue;
      groups.push({
        partitionValues: group[0]!.partitionValues,
        files: group,
        bytes: group.reduce((sum, file) => sum + file.size, 0),
      });
    }
  }
  return groups;
}

/**
 * The plan of a table version: each group's output sits in its inputs' folder, named by its inputs, so a
 * retried rewrite of the same files writes the same file; the plan's id is a hash of the groups' inputs.
 */
export function optimizePlanOf(
  table: {
    format: OptimizePlan["format"];
    version: number;
    partitionColumns: readonly string[];
    files: readonly PlannedFile[];
  },
  options: { targetFileSize: number },
): OptimizePlan {
  const groups: OptimizePlanGroup[] = packSmallFiles(table.files, table.partitionColumns, options).map(
    (group) => {
      const inputs = group.files.map(({ path, uri, size, rows }) => ({ path, uri, size, rows }));
      const name = `part-optimize-${sha256Hex(JSON.stringify(inputs.map((f) => f.path))).slice(0, 32)}.parquet`;
      return {
        partitionValues: group.partitionValues,
        inputs,
        output: joinUri(parentFolder(inputs[0]!.uri), name),
      };
    },
  );
  return {
    format: table.format,
    readVersion: table.version,
    id: sha256Hex(JSON.stringify(groups.map((g) => g.inputs.map((f) => f.path)))).slice(0, 32),
    partitionColumns: [...table.partitionColumns],
    groups,
  };
}
