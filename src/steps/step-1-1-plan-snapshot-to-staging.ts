/**
 * Step 1.1: pack the snapshot's files into groups of about the target size, write one manifest per group
 * named by its content fingerprint, and create one tracker task per group. Planning the same snapshot again
 * writes the same files and creates no new task. The target counts the bytes a worker holds: gzip files
 * weigh their stored size times the expansion measured on a sample of their trailers.
 */
import pLimit from "p-limit";
import { SnaplakeError } from "../errors.js";
import type { Locations } from "../models/locations.js";
import {
  type SnapshotFileGroup,
  type SnapshotManifest,
  type SnapshotSource,
  summarizeFiles,
  writeJson,
} from "../models/manifests.js";
import { packBalanced } from "../models/pack.js";
import type { Storage } from "../storage/types.js";
import type { TaskData, TaskTracker } from "../tracker/types.js";
import { type SnapshotGroupTaskInput, Step } from "./catalogue.js";
import { isGzipName, measureGzipExpansion } from "./gzip-expansion.js";
import { listSnapshotFiles } from "./step-0-build-manifest.js";

/**
 * The pure part: which files go together. Deterministic for the same manifest and expansion.
 * `gzipExpansion` (default 1): how many bytes a `.gz`/`.gzip` file inflates to per stored byte.
 */
export function planSnapshotFileGroups(
  manifest: Pick<SnapshotManifest, "files">,
  targetSize: number,
  options: { gzipExpansion?: number } = {},
): SnapshotFileGroup[] {
  const expansion = options.gzipExpansion ?? 1;
  const weight =
    expansion === 1
      ? (f: { size: number }) => f.size
      : (f: { uri: string; size: number }) => (isGzipName(f.uri) ? f.size * expansion : f.size);
  return packBalanced(manifest.files, targetSize, weight, (f) => f.uri).map((files) => ({
    kind: "snapshot-file-group",
    ...summarizeFiles(files),
    files,
  }));
}

/**
 * A step-1.3 worker's peak memory per byte of the group it holds: 5–6.5× measured by `npm run bench:plan`
 * (docs/aws-deployment.md), so the upper end; plus the worker itself (Node, polars, the AWS SDK).
 */
export const WORKER_MEMORY_PER_GROUP_BYTE = 6.5;
export const WORKER_BASE_MEMORY = 200 * 1024 * 1024;

export interface SnapshotPlanPreview {
  manifest: {
    files: number;
    bytes: number;
    rows: number | null;
    fingerprint: string;
    details: Record<string, unknown>;
  };
  /** Inflated / stored bytes of the sampled gzip files (1 without any). */
  gzipExpansion: number;
  targetFileGroupSize: number;
  /** Step 1.3's tasks, in plan order: stored bytes, and the bytes a worker holds (gzip inflated). */
  groups: Array<{ fingerprint: string; files: number; bytes: number; inMemory: number }>;
  /** Peak memory of a worker on the largest group (see WORKER_MEMORY_PER_GROUP_BYTE). */
  estimatedWorkerMemory: number;
}

/**
 * Steps 0 and 1.1 without writing anything (`run --dry-run`): the files step 0 would list now, the groups
 * step 1.1 would plan from them, and the memory a worker needs for the largest group.
 */
export async function previewSnapshotPlan(input: {
  storage: Storage;
  source: SnapshotSource;
  targetFileGroupSize: number;
}): Promise<SnapshotPlanPreview> {
  const { files, details } = await listSnapshotFiles(input.storage, input.source);
  const gzipExpansion = await measureGzipExpansion(input.storage, files);
  const groups = planSnapshotFileGroups({ files }, input.targetFileGroupSize, { gzipExpansion }).map((g) => ({
    fingerprint: g.fingerprint,
    files: g.files.length,
    bytes: g.size,
    inMemory: Math.round(
      g.files.reduce((sum, f) => sum + (isGzipName(f.uri) ? f.size * gzipExpansion : f.size), 0),
    ),
  }));
  const summary = summarizeFiles(files);
  const largest = Math.max(0, ...groups.map((g) => g.inMemory));
  return {
    manifest: {
      files: files.length,
      bytes: summary.size,
      rows: summary.nRecord,
      fingerprint: summary.fingerprint,
      details,
    },
    gzipExpansion,
    targetFileGroupSize: input.targetFileGroupSize,
    groups,
    estimatedWorkerMemory: Math.round(largest * WORKER_MEMORY_PER_GROUP_BYTE + WORKER_BASE_MEMORY),
  };
}

/**
 * The tracker already holds step-1.3 tasks for groups this plan does not contain: the snapshot's files or
 * the planning settings changed since the project was planned. Processing both plans would stage rows twice.
 */
export class PlanChangedError extends SnaplakeError {
  readonly staleTaskIds: string[];
  constructor(projectId: string, staleTaskIds: string[], planned: number) {
    const shown = staleTaskIds.slice(0, 3).join(", ") + (staleTaskIds.length > 3 ? ", ..." : "");
    super(
      "PLAN_CHANGED",
      `Project "${projectId}" was planned before with ${staleTaskIds.length} snapshot group(s) that this plan ` +
        `(${planned} groups) no longer has (${shown}): the snapshot's files or the group size changed. Their ` +
        "staging output would mix with the new plan's, so nothing was planned. Use a new projectId for the new snapshot.",
    );
    this.staleTaskIds = staleTaskIds;
  }
}

export interface PlanResult extends TaskData {
  groups: number;
  /** Inflated / stored bytes of the sampled gzip files (1 without any): groups are sized by the former. */
  gzipExpansion: number;
  tasksCreated: number;
  tasksExisting: number;
}

export async function planSnapshotToStaging(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  manifest: SnapshotManifest;
  targetFileGroupSize: number;
  maxAttempts?: number;
}): Promise<PlanResult> {
  const gzipExpansion = await measureGzipExpansion(input.storage, input.manifest.files);
  const groups = planSnapshotFileGroups(input.manifest, input.targetFileGroupSize, { gzipExpansion });
  // Planning again (a retry of this step) must find the same groups, or only some of them: never others.
  const planned = new Set(groups.map((g) => g.fingerprint));
  const earlier = await input.tracker.list(input.projectId, Step.snapshotToStaging);
  const stale = earlier.filter((task) => !planned.has(task.taskId)).map((task) => task.taskId);
  if (stale.length > 0) throw new PlanChangedError(input.projectId, stale, groups.length);
  const limit = pLimit(16);
  await Promise.all(
    groups.map((g) =>
      limit(() => writeJson(input.storage, input.locations.snapshotFileGroup(g.fingerprint), g)),
    ),
  );
  const specs = groups.map((g) => ({
    taskId: g.fingerprint,
    input: {
      groupUri: input.locations.snapshotFileGroup(g.fingerprint),
      fingerprint: g.fingerprint,
      files: g.files.length,
      size: g.size,
    } satisfies SnapshotGroupTaskInput,
  }));
  const { created, existing } = await input.tracker.createTasks(
    input.projectId,
    Step.snapshotToStaging,
    specs,
    {
      ...(input.maxAttempts ? { maxAttempts: input.maxAttempts } : {}),
    },
  );
  return { groups: groups.length, gzipExpansion, tasksCreated: created, tasksExisting: existing };
}
