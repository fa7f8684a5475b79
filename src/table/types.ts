/**
 * The lake-table seam: how a run's data files become the table readers see. Step 2.3 writes files under
 * the lake root in either format; step 4 hands them to `commit`. Hive lakes show files as they are written,
 * so their commit does nothing; Delta tables make them visible in one atomic, idempotent log commit.
 */
import type { TableSettings } from "../config.js";
import type { DeltaPrimitiveType } from "./delta/schema.js";

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
  format: TableSettings["format"];
  /** The table version holding the run (Delta), null for a hive lake. */
  version: number | null;
  /** False when nothing was written: a hive lake, or a Delta table that already held this run's commit. */
  committed: boolean;
  filesAdded: number;
  filesRemoved: number;
  rowsAdded: number;
  rowsRemoved: number;
}

export interface LakeTable {
  readonly format: TableSettings["format"];
  commit(run: LakeRun): Promise<LakeCommitResult>;
  /** The table version holding this project's commit, or null (none yet, or a hive lake: nothing to commit). */
  committedVersion(projectId: string): Promise<number | null>;
}
