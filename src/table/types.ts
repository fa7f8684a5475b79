/**
 * The lake-table seam: how a run's data files become the table readers see. Step 2.3 writes files under
 * the lake root in either format; step 4 hands them to `commit`. Hive lakes show files as they are written,
 * so their commit does nothing; Delta tables make them visible in one atomic, idempotent log commit.
 */
import type { TableSettings } from "../config.js";
import type { DeltaPrimitiveType } from "./delta/schema.js";

/** A lake's table format: plain Hive folders, a Delta table or an Iceberg table (`table.format`). */
export type LakeFormat = TableSettings["format"];

/** A table version as people read it: "Delta version 3", "Iceberg sequence number 3" (its snapshots' order). */
export function tableVersionName(format: LakeFormat, version: number | null): string {
  return `${format === "iceberg" ? "Iceberg sequence number" : "Delta version"} ${version}`;
}

export interface LakeRun {
  /** The run's identity: a table holds at most one commit per projectId, so a re-run commits nothing. */
  projectId: string;
  /** Absolute URIs of the run's data files, each in its partition's Hive folder under the lake root. */
  files: readonly string[];
  partitionColumns: readonly string[];
  /** The partition columns' types; partition values are read from the folders, typed with these. */
  partitionTypes: Readonly<Record<string, DeltaPrimitiveType>>;
}

export interface LakeCommitResult extends Record<string, unknown> {
  format: LakeFormat;
  /** The table version holding the run (Delta), null for a hive lake. */
  version: number | null;
  /** False when nothing was written: a hive lake, or a Delta table that already held this run's commit. */
  committed: boolean;
  filesAdded: number;
  filesRemoved: number;
  rowsAdded: number;
  rowsRemoved: number;
  /**
   * Step 4 asked again after it had succeeded: the result its commit recorded then (what that commit
   * wrote, at which version); nothing was written now.
   */
  earlier?: true;
}

/** One output file of an optimize plan: small files of one partition, rewritten together. */
export interface OptimizePlanGroup {
  /** The partition's values as the table records them (null for a null partition value). */
  partitionValues: Record<string, string | null>;
  inputs: Array<{ path: string; uri: string; size: number; rows: number | null }>;
  /** The rewritten file's URI, named by its inputs, so a retried rewrite writes the same file. */
  output: string;
}

/**
 * A compaction of small files, planned at one table version: which files each new file replaces. Plain
 * JSON, so it can be recorded before anything is written and carried out (or resumed) later.
 */
export interface OptimizePlan {
  format: LakeFormat;
  /** The table version the plan was made at. */
  readVersion: number;
  /** A hash of the read version and the groups: the plan's identity (and its commit's txn appId). */
  id: string;
  /** Columns whose values live in the folders, not in the data files. */
  partitionColumns: string[];
  groups: OptimizePlanGroup[];
}

export interface OptimizeCommitResult extends LakeCommitResult {
  /** True when the table no longer holds every input and no commit of this plan exists: plan again. */
  superseded: boolean;
}

export interface VacuumResult {
  /** Files no version inside the retention window references (deleted unless dryRun). */
  files: string[];
  bytes: number;
  deleted: boolean;
}

export interface LakeTable {
  readonly format: LakeFormat;
  commit(run: LakeRun): Promise<LakeCommitResult>;
  /** The table version holding this project's commit, or null (none yet, or a hive lake: nothing to commit). */
  committedVersion(projectId: string): Promise<number | null>;
  /**
   * Per partition, packs the files smaller than about `targetFileSize` into groups of about that size
   * (ceil(bytes / target) per partition); files near the target are left alone. Deterministic for a version.
   */
  planOptimize(options: { targetFileSize: number }): Promise<OptimizePlan>;
  /**
   * Commits a plan whose outputs are written: one rewrite commit (no data change) replacing the inputs by
   * the outputs. Idempotent by the plan's id; safe against concurrent appends; superseded (nothing
   * written) when a concurrent commit removed an input.
   */
  commitOptimize(plan: OptimizePlan, projectId: string): Promise<OptimizeCommitResult>;
  /** Deletes (or with dryRun lists) the data files no version inside the retention window references. */
  vacuum(options: { retainMs: number; dryRun: boolean }): Promise<VacuumResult>;
}
