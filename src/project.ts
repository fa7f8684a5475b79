/**
 * `Project`: the staged workflow for one snapshot, composed from the functional steps in `src/steps`.
 * Subclass it and implement `batchReadSnapshotDataFile`. Every step runs as a tracked task, so each method
 * is safe to call again and from many processes at once: a finished step returns its recorded result, a
 * running one is waited for, a crashed one is taken over when its lease expires.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pLimit from "p-limit";
import { z } from "zod";
import { type ProjectConfig, type ProjectConfigInput, parseProjectConfig } from "./config.js";
import { SnaplakeError } from "./errors.js";
import type { FrameLike } from "./frames/convert.js";
import { type Logger, silentLogger } from "./logging.js";
import { Locations } from "./models/locations.js";
import {
  partitionFileGroupSchema,
  readJson,
  readSnapshotManifest,
  type SnapshotFileGroup,
  type SnapshotManifest,
  snapshotConfinement,
  snapshotFileGroupSchema,
} from "./models/manifests.js";
import {
  ALL_STEPS,
  type GroupStep,
  type PartitionGroupTaskInput,
  SINGLE_TASK_ID,
  type SnapshotGroupTaskInput,
  Step,
  type StepId,
} from "./models/steps.js";
import { buildSnapshotManifest } from "./steps/step-0-build-manifest.js";
import { type PlanResult, planSnapshotToStaging } from "./steps/step-1-1-plan-snapshot-to-staging.js";
import {
  type DerivedColumn,
  processSnapshotGroup,
  type ReadContext,
  type SnapshotReadResult,
} from "./steps/step-1-3-process-snapshot-group.js";
import { planStagingToDatalake, readCompleteStage } from "./steps/step-2-1-plan-staging-to-datalake.js";
import { compactPartitionGroup } from "./steps/step-2-3-compact-partition-group.js";
import {
  ValidationFailedError,
  type ValidationResult,
  validateDatalake,
} from "./steps/step-3-validate-datalake.js";
import { listTodo, writeTodoList } from "./steps/step-x-2-list-todo.js";
import type { Storage } from "./storage/types.js";
import type { RunTaskResult, StatusCounts, Task, TaskData, TaskTracker } from "./tracker/types.js";

export interface ProjectDependencies {
  storage: Storage;
  tracker: TaskTracker;
  logger?: Logger;
}

/** A step's single task failed for good (attempts exhausted) or with an error worth stopping for. */
export class StepFailedError extends SnaplakeError {
  readonly step: string;
  constructor(step: string, task: Task | undefined, cause?: unknown) {
    const last = task?.errors.at(-1);
    const reason =
      cause instanceof Error ? cause.message : last ? `${last.name}: ${last.message}` : "unknown error";
    super(
      "STEP_FAILED",
      `Step ${step} failed${task ? ` (${task.status}, attempt ${task.attempts}/${task.maxAttempts})` : ""}: ${reason}`,
      {
        cause,
      },
    );
    this.step = step;
  }
}

/**
 * Validation was asked of a tracker that never ran the project's step 0 (another state folder or table):
 * its verdict would be about no tasks at all, so it refuses instead of writing a FAILED result.
 */
export class ProjectNotTrackedError extends SnaplakeError {
  constructor(projectId: string) {
    super(
      "PROJECT_NOT_TRACKED",
      `Project "${projectId}" has no finished step 0 (manifest) in this tracker, so there is nothing to validate; ` +
        "nothing was written. Run the project first, or use the tracker that ran it (the embedded state beside " +
        "the config file or --state-dir, or tracker.tableName).",
    );
  }
}

/** Reported after each task of a group step, for progress bars. */
export interface ProgressEvent {
  step: GroupStep;
  taskId: string;
  outcome: RunTaskResult["outcome"];
  /** Tasks of the step that are finished (succeeded or ignored) and in total. */
  finished: number;
  total: number;
}

export interface RunOptions {
  /** Tasks run at once in this process. Default 2. */
  workers?: number;
  /** Plan compaction even when some step-1.3 tasks did not succeed. */
  force?: boolean;
  onProgress?: (event: ProgressEvent) => void;
}

export interface RunSummary {
  manifest: { files: number; bytes: number; fingerprint: string };
  snapshotGroups: StatusCounts;
  partitionGroups: StatusCounts;
  validation: ValidationResult;
}

const writtenValidationSchema = z.custom<ValidationResult>(
  (value) =>
    typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean",
  "not a validation result",
);

export abstract class Project {
  readonly config: ProjectConfig;
  readonly locations: Locations;
  readonly storage: Storage;
  readonly tracker: TaskTracker;
  readonly logger: Logger;
  /** How often to look again while another worker holds a step's task. */
  protected pollMs = 500;
  private manifestPromise: Promise<SnapshotManifest> | undefined;
  /** Leases already reported as waited for (step/task/token), so each is logged once. */
  private readonly reportedWaits = new Set<string>();

  constructor(config: ProjectConfigInput | ProjectConfig, dependencies: ProjectDependencies) {
    this.config = parseProjectConfig(config);
    this.locations = new Locations(this.config.stagingUri, this.config.datalakeUri);
    this.storage = dependencies.storage;
    this.tracker = dependencies.tracker;
    this.logger = dependencies.logger ?? silentLogger;
  }

  get projectId(): string {
    return this.config.projectId;
  }

  /** Reads one snapshot file group into a frame (polars DataFrame or apache-arrow Table). */
  abstract batchReadSnapshotDataFile(
    group: SnapshotFileGroup,
    context: ReadContext,
  ): Promise<FrameLike | SnapshotReadResult>;

  /** Columns computed after reading, in order (record id, times, partition keys...). */
  derivedColumns(): DerivedColumn[] {
    return [];
  }

  // --- the numbered steps ------------------------------------------------------------------------------

  /** Step 0: the snapshot manifest (listed from the source, or the user's). */
  async step0BuildManifest(): Promise<SnapshotManifest> {
    await this.runSingleStep(Step.manifest, async () => {
      const manifest = await buildSnapshotManifest({
        storage: this.storage,
        locations: this.locations,
        source: this.config.snapshot,
      });
      this.manifestPromise = Promise.resolve(manifest);
      return {
        manifestUri: manifest.summaryUri,
        files: manifest.files.length,
        bytes: manifest.size,
        fingerprint: manifest.fingerprint,
      };
    });
    return this.manifest();
  }

  /** Step 1.1: snapshot files into groups, one tracker task per group. */
  async step1_1PlanSnapshotToStaging(): Promise<PlanResult> {
    const manifest = await this.step0BuildManifest();
    return this.runSingleStep(Step.planSnapshotToStaging, () =>
      planSnapshotToStaging({
        storage: this.storage,
        tracker: this.tracker,
        projectId: this.projectId,
        locations: this.locations,
        manifest,
        targetFileGroupSize: this.config.targetFileGroupSize,
        maxAttempts: this.config.tracker.maxAttempts,
      }),
    );
  }

  /** Step 1.2: snapshot groups still to do. */
  step1_2ListSnapshotGroupsTodo(): Promise<Task[]> {
    return listTodo({ tracker: this.tracker, projectId: this.projectId, step: Step.snapshotToStaging });
  }

  /** Step 1.3: one snapshot group into staging Parquet. */
  step1_3ProcessSnapshotGroup(taskId: string): Promise<RunTaskResult> {
    return this.tracker.runTask(this.projectId, Step.snapshotToStaging, taskId, async ({ input, signal }) => {
      const group = await readJson(
        this.storage,
        (input as SnapshotGroupTaskInput).groupUri,
        snapshotFileGroupSchema,
      );
      const { stagingManifest: _, ...output } = await processSnapshotGroup({
        storage: this.storage,
        locations: this.locations,
        group,
        read: (g, context) => this.batchReadSnapshotDataFile(g, context),
        partitionKeys: this.config.partitionKeys,
        derivedColumns: this.derivedColumns(),
        signal,
      });
      return output;
    });
  }

  /** Step 2.1: staging files into compaction groups; refuses while step 1.3 is incomplete unless forced. */
  async step2_1PlanStagingToDatalake(options: { force?: boolean } = {}) {
    let snapshotTasks: Task[] | undefined;
    // Checked before claiming the planning task, so a refusal doesn't use up one of its attempts, and only
    // while planning is still to do; the same read then serves the plan.
    const checkBarrier = async () => {
      snapshotTasks = await readCompleteStage(this.tracker, this.projectId, Step.snapshotToStaging);
    };
    return this.runSingleStep(
      Step.planStagingToDatalake,
      () =>
        planStagingToDatalake({
          storage: this.storage,
          tracker: this.tracker,
          projectId: this.projectId,
          locations: this.locations,
          targetParquetFileSize: this.config.targetParquetFileSize,
          targetFileGroupSize: this.config.targetFileGroupSize,
          dedupe: this.config.recordIdColumn !== undefined,
          maxAttempts: this.config.tracker.maxAttempts,
          ...(options.force ? { force: true } : { snapshotTasks }),
        }),
      options.force ? undefined : checkBarrier,
    );
  }

  /** Step 2.2: compaction groups still to do. */
  step2_2ListPartitionGroupsTodo(): Promise<Task[]> {
    return listTodo({ tracker: this.tracker, projectId: this.projectId, step: Step.stagingToDatalake });
  }

  /** Step 2.3: one compaction group into lake Parquet. */
  step2_3CompactPartitionGroup(taskId: string): Promise<RunTaskResult> {
    const { recordIdColumn, updateTimeColumn } = this.config;
    return this.tracker.runTask(this.projectId, Step.stagingToDatalake, taskId, async ({ input, signal }) => {
      const group = await readJson(
        this.storage,
        (input as PartitionGroupTaskInput).groupUri,
        partitionFileGroupSchema,
      );
      return compactPartitionGroup({
        storage: this.storage,
        locations: this.locations,
        group,
        sortBy: this.config.sortBy,
        ...(recordIdColumn && updateTimeColumn ? { dedupe: { recordIdColumn, updateTimeColumn } } : {}),
        targetParquetFileSize: this.config.targetParquetFileSize,
        compression: this.config.compression,
        rowGroupSize: this.config.rowGroupSize,
        signal,
      });
    });
  }

  /**
   * Step 3: validate the lake; writes the result JSON and throws `ValidationFailedError` when anything is
   * unexplained. Always checks afresh, since the lake may have changed since the last check.
   */
  async step3ValidateDatalake(): Promise<ValidationResult> {
    const manifestTask = await this.tracker.get(this.projectId, Step.manifest, SINGLE_TASK_ID);
    if (manifestTask?.status !== "succeeded") throw new ProjectNotTrackedError(this.projectId);
    const manifest = await this.manifest();
    // A check always runs afresh: an earlier result goes back to pending (runSingleStep creates the task).
    await this.tracker.reset(this.projectId, Step.validate, { statuses: ["succeeded", "failed", "ignored"] });
    let result: ValidationResult | undefined;
    await this.runSingleStep(Step.validate, async () => {
      result = await validateDatalake({
        storage: this.storage,
        tracker: this.tracker,
        projectId: this.projectId,
        locations: this.locations,
        manifest,
        snapshotSource: this.config.snapshot,
        ...(this.config.countColumn ? { countColumn: this.config.countColumn } : {}),
      });
      if (!result.ok) throw new ValidationFailedError(result, this.locations.validationResult);
      return {
        ok: true,
        rows: result.lake.rows,
        files: result.lake.files,
        partitions: result.lake.partitions,
      };
    });
    // Another process may have run this check while we waited: its result is the one written.
    return result ?? (await readJson(this.storage, this.locations.validationResult, writtenValidationSchema));
  }

  // --- orchestration -------------------------------------------------------------------------------------

  /**
   * Runs every step with `workers` tasks at a time in this process. Safe to run in several processes at
   * once (each takes its share). Stops with `StageBarrierError` when step 1.3 left tasks unfinished, unless
   * `force`, and with `ValidationFailedError` when the lake doesn't add up.
   */
  async runAll(options: RunOptions = {}): Promise<RunSummary> {
    await this.step1_1PlanSnapshotToStaging(); // builds the manifest first (step 0)
    const manifest = await this.manifest();
    await this.drain(Step.snapshotToStaging, options);
    await this.step2_1PlanStagingToDatalake({ force: options.force ?? false });
    await this.drain(Step.stagingToDatalake, options);
    const validation = await this.step3ValidateDatalake();
    return {
      manifest: { files: manifest.files.length, bytes: manifest.size, fingerprint: manifest.fingerprint },
      snapshotGroups: await this.tracker.counts(this.projectId, Step.snapshotToStaging),
      partitionGroups: await this.tracker.counts(this.projectId, Step.stagingToDatalake),
      validation,
    };
  }

  /** One task by step and id: the unit an external orchestrator (one Lambda invocation) runs. */
  async processTask(
    step: StepId,
    taskId: string,
  ): Promise<RunTaskResult | { outcome: "succeeded"; output: unknown }> {
    switch (step) {
      case Step.snapshotToStaging:
        return this.step1_3ProcessSnapshotGroup(taskId);
      case Step.stagingToDatalake:
        return this.step2_3CompactPartitionGroup(taskId);
      case Step.manifest:
        return { outcome: "succeeded", output: await this.step0BuildManifest() };
      case Step.planSnapshotToStaging:
        return { outcome: "succeeded", output: await this.step1_1PlanSnapshotToStaging() };
      case Step.planStagingToDatalake:
        return { outcome: "succeeded", output: await this.step2_1PlanStagingToDatalake() };
      case Step.validate:
        return { outcome: "succeeded", output: await this.step3ValidateDatalake() };
    }
  }

  /** Writes a group step's todo list as JSON (Step Functions' ItemReader format): where, and how many tasks. */
  async writeTodoList(step: GroupStep): Promise<{ uri: string; count: number }> {
    const tasks = await listTodo({ tracker: this.tracker, projectId: this.projectId, step });
    return writeTodoList({
      storage: this.storage,
      locations: this.locations,
      projectId: this.projectId,
      step,
      tasks,
    });
  }

  /** Counts by status for every step. */
  async status(): Promise<Record<StepId, StatusCounts>> {
    const entries = await Promise.all(
      ALL_STEPS.map(async (step) => [step, await this.tracker.counts(this.projectId, step)] as const),
    );
    return Object.fromEntries(entries) as Record<StepId, StatusCounts>;
  }

  /** Failed and ignored tasks of every step, with their error history. */
  async failures(): Promise<Task[]> {
    return (await Promise.all(ALL_STEPS.map((step) => this.tracker.failures(this.projectId, step)))).flat();
  }

  /** Brings failed/ignored tasks back to pending (every step, or the ones given). */
  async retry(steps: readonly StepId[] = ALL_STEPS): Promise<number> {
    let total = 0;
    for (const step of steps) total += await this.tracker.reset(this.projectId, step);
    return total;
  }

  /** The snapshot manifest, read once. */
  manifest(): Promise<SnapshotManifest> {
    this.manifestPromise ??= (async () => {
      const { snapshot } = this.config;
      const uri = "manifestUri" in snapshot ? snapshot.manifestUri : this.locations.snapshotManifestSummary;
      return readSnapshotManifest(this.storage, uri, snapshotConfinement(snapshot));
    })().catch((error) => {
      this.manifestPromise = undefined;
      throw error;
    });
    return this.manifestPromise;
  }

  /** Runs the tasks of a group step until none is left, `workers` at a time; failed tasks are retried. */
  async drain(step: GroupStep, options: Pick<RunOptions, "workers" | "onProgress"> = {}): Promise<void> {
    const limit = pLimit(Math.max(1, options.workers ?? 2));
    const counts = await this.tracker.counts(this.projectId, step);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    let finished = counts.succeeded + counts.ignored;
    for (;;) {
      const todo = await this.tracker.todo(this.projectId, step);
      if (todo.length === 0) {
        const counts = await this.tracker.counts(this.projectId, step);
        if (counts.in_progress === 0) return;
        // Another process holds tasks: wait for them, or for their leases to expire.
        for (const held of await this.tracker.list(this.projectId, step, { statuses: ["in_progress"] }))
          this.reportWaiting(held);
        await sleep(this.pollMs);
        continue;
      }
      await Promise.all(
        todo.map((task) =>
          limit(async () => {
            const result =
              step === Step.snapshotToStaging
                ? await this.step1_3ProcessSnapshotGroup(task.taskId)
                : await this.step2_3CompactPartitionGroup(task.taskId);
            if (result.outcome === "failed") {
              const { task: t, error } = result;
              if (t.status === "ignored") finished++;
              this.logger.warn(
                { step, taskId: task.taskId, status: t.status, attempt: t.attempts, err: error },
                "task failed",
              );
            } else if (result.outcome === "succeeded") {
              finished++;
              this.logger.info({ step, taskId: task.taskId }, "task succeeded");
            }
            options.onProgress?.({ step, taskId: task.taskId, outcome: result.outcome, finished, total });
          }),
        ),
      );
    }
  }

  /** Says once per lease that this process waits for a task another worker holds, and for how long at most. */
  private reportWaiting(task: Task): void {
    const key = `${task.step}/${task.taskId}/${task.leaseToken}`;
    if (this.reportedWaits.has(key)) return;
    this.reportedWaits.add(key);
    const seconds = Math.max(0, Math.ceil(((task.leaseExpiresAt ?? 0) - Date.now()) / 1000));
    const holder = task.leaseOwner ?? "another worker";
    this.logger.warn(
      { step: task.step, taskId: task.taskId, holder, leaseExpiresInSeconds: seconds },
      `waiting for task ${task.taskId} of step ${task.step}, held by ${holder}: ` +
        `it is taken over in ${seconds} s if that worker does not finish it first`,
    );
  }

  /**
   * Runs a single-task step once for the whole project: returns the recorded output when it already
   * succeeded, waits while another process holds it, and throws `StepFailedError` when it fails.
   * `beforeClaim` runs once, only when the step is still to do, before its task is claimed.
   */
  protected async runSingleStep<O extends TaskData>(
    step: StepId,
    fn: () => Promise<O>,
    beforeClaim?: () => Promise<void>,
  ): Promise<O> {
    let prepared = false;
    for (;;) {
      const current = await this.tracker.get(this.projectId, step, SINGLE_TASK_ID);
      if (current?.status === "succeeded") return current.output as O;
      if (current?.status === "ignored") throw new StepFailedError(step, current);
      if (beforeClaim && !prepared) {
        await beforeClaim();
        prepared = true;
      }
      if (!current) {
        await this.tracker.createTasks(this.projectId, step, [{ taskId: SINGLE_TASK_ID, input: {} }], {
          maxAttempts: this.config.tracker.maxAttempts,
        });
      }
      const result = await this.tracker.runTask(this.projectId, step, SINGLE_TASK_ID, fn);
      if (result.outcome === "succeeded") return result.task.output as O;
      if (result.outcome === "failed")
        throw result.error instanceof SnaplakeError
          ? result.error
          : new StepFailedError(step, result.task, result.error);
      if (result.outcome === "not_claimable" && result.task?.status === "in_progress")
        this.reportWaiting(result.task);
      await sleep(this.pollMs);
    }
  }
}
