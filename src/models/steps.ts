/**
 * The workflow's steps as tracker task models: each step's id in the tracker table and the shape of its
 * tasks' input and output. Planning steps (0, 1.1, 2.1, 3) and the commit (4) are single tasks; 1.3 and 2.3 have one task per group.
 */
import type { TaskData } from "../tracker/types.js";

export const Step = {
  manifest: "0-manifest",
  planSnapshotToStaging: "1.1-plan-snapshot-to-staging",
  snapshotToStaging: "1.3-snapshot-to-staging",
  planStagingToDatalake: "2.1-plan-staging-to-datalake",
  stagingToDatalake: "2.3-staging-to-datalake",
  validate: "3-validate",
  commit: "4-commit",
} as const;

export type StepId = (typeof Step)[keyof typeof Step];

export const ALL_STEPS: readonly StepId[] = Object.values(Step);

/** Steps with one task per group: the ones workers fan out over. */
export const GROUP_STEPS = [Step.snapshotToStaging, Step.stagingToDatalake] as const;
export type GroupStep = (typeof GROUP_STEPS)[number];

/** Steps with one task each (planning, validation, commit): the ones a worker runs as a whole. */
export const SINGLE_TASK_STEPS = [
  Step.manifest,
  Step.planSnapshotToStaging,
  Step.planStagingToDatalake,
  Step.validate,
  Step.commit,
] as const;
export type SingleTaskStep = (typeof SINGLE_TASK_STEPS)[number];

/** The task id of single-task (planning) steps. */
export const SINGLE_TASK_ID = "all";

export interface SnapshotGroupTaskInput extends TaskData {
  groupUri: string;
  fingerprint: string;
  files: number;
  size: number;
}

export interface SnapshotGroupTaskOutput extends TaskData {
  stagingManifestUri: string;
  rowsRead: number;
  rowsWritten: number;
  badRows: number;
  dropped: Record<string, number>;
  stagingFiles: number;
}

export interface PartitionGroupTaskInput extends TaskData {
  groupUri: string;
  fingerprint: string;
  partition: string;
  files: number;
  estimatedBytes: number;
}

export interface PartitionGroupTaskOutput extends TaskData {
  rowsRead: number;
  rowsWritten: number;
  duplicatesRemoved: number;
  lakeFiles: Array<{ uri: string; size: number; nRecord: number }>;
  bytesWritten: number;
}
