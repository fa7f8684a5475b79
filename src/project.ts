/**
 * `Project`: the staged workflow for one snapshot, composed from the functional steps in `src/steps`.
 * Subclass it and implement `batchReadSnapshotDataFile`. Every step runs as a tracked task, so each method
 * is safe to call again and from many processes at once: a finished step returns its recorded result, a
 * running one is waited for, a crashed one is taken over when its lease expires.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import pLimit from "p-limit";
import { z } from "zod";
import {
  dedupeColumn,
  mergeKeyColumns,
  type ProjectConfig,
  type ProjectConfigInput,
  parseProjectConfig,
} from "./config.js";
import { SnaplakeError } from "./errors.js";
import type { FrameLike } from "./frames/convert.js";
import { type Logger, silentLogger } from "./logging.js";
import { Locations } from "./models/locations.js";
import {
  type LakeLayout,
  lakeSchemaSchema,
  partitionFileGroupSchema,
  readJson,
  readJsonIfPresent,
  readSnapshotManifest,
  type SnapshotFileGroup,
  type SnapshotManifest,
  snapshotConfinement,
  snapshotFileGroupSchema,
  writeJson,
} from "./models/manifests.js";
import type { DerivedColumn, ReadContext, SnapshotReadResult } from "./readers/types.js";
import {
  ALL_STEPS,
  type GroupStep,
  type PartitionGroupTaskInput,
  type PartitionGroupTaskOutput,
  SINGLE_TASK_ID,
  type SnapshotGroupTaskInput,
  type SnapshotGroupTaskOutput,
  STEP_CATALOGUE,
  Step,
  type StepDefinition,
  type StepId,
  type StepOutcome,
  type StepRunner,
  stepDefinition,
  taskData,
} from "./steps/catalogue.js";
import { OPTIMIZE_STEP, optimizePlanSchema, rewriteOptimizeGroup } from "./steps/optimize.js";
import {
  ConfigChangedError,
  changedSettings,
  firstStepOf,
  type ProjectSettings,
  projectSettings,
  recordedSettingsSchema,
  recordSettings,
} from "./steps/settings.js";
import { buildSnapshotManifest } from "./steps/step-0-build-manifest.js";
import { type PlanResult, planSnapshotToStaging } from "./steps/step-1-1-plan-snapshot-to-staging.js";
import { processSnapshotGroup } from "./steps/step-1-3-process-snapshot-group.js";
import {
  planStagingToDatalake,
  readCompleteStage,
  removeCompactionGroups,
} from "./steps/step-2-1-plan-staging-to-datalake.js";
import { compactPartitionGroup } from "./steps/step-2-3-compact-partition-group.js";
import {
  ValidationFailedError,
  type ValidationResult,
  validateDatalake,
} from "./steps/step-3-validate-datalake.js";
import { commitRun } from "./steps/step-4-commit.js";
import { listTodo, writeTodoList } from "./steps/step-x-2-list-todo.js";
import type { Storage } from "./storage/types.js";
import type { GlueClientLike } from "./table/iceberg/glue.js";
import {
  type LakeCommitResult,
  type LakeTable,
  type OptimizeCommitResult,
  openLakeTable,
  type VacuumResult,
} from "./table/index.js";
import {
  type RunTaskResult,
  type StatusCounts,
  TASK_STATUSES,
  type Task,
  type TaskContext,
  type TaskData,
  type TaskTracker,
} from "./tracker/types.js";

export interface ProjectDependencies {
  storage: Storage;
  tracker: TaskTracker;
  logger?: Logger;
  /** The project's DynamoDB client (the runtime's), for a table whose commit store is a DynamoDB table. */
  dynamodb?: () => DynamoDBClient;
  /** The project's Glue client (the runtime's), for an Iceberg table in the Glue Data Catalog. */
  glue?: () => GlueClientLike;
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
  /** `purpose`: what the command wanted to do, e.g. "validate" or "report on". */
  constructor(projectId: string, purpose = "validate") {
    super(
      "PROJECT_NOT_TRACKED",
      `Project "${projectId}" has no finished step 0 (manifest) in this tracker, so there is nothing to ${purpose}; ` +
        "nothing was written. Run the project first, or use the tracker that ran it (the embedded state beside " +
        "the config file or --state-dir, or tracker.tableName).",
    );
  }
}

/** Step 4 was asked before step 3 passed: the table is left untouched. */
export class NotValidatedError extends SnaplakeError {
  constructor(projectId: string) {
    super(
      "NOT_VALIDATED",
      `Project "${projectId}" has no passed validation (step ${Step.validate}), so its files are not committed to the table; ` +
        "the table was left untouched. Run step 3 (snaplake step 3 --config <file>) and fix what it reports first.",
    );
  }
}

/** A reset would delete or rewrite the data files of a run that a Delta or Iceberg table version already holds. */
export class RunCommittedError extends SnaplakeError {
  constructor(projectId: string, tableUri: string, version: number, fromStep: StepId, format = "delta") {
    const table = format === "iceberg" ? "Iceberg table" : "Delta table";
    super(
      "RUN_COMMITTED",
      `Project "${projectId}" is committed to the ${table} ${tableUri} as version ${version}: resetting from step ${fromStep} ` +
        "would delete or rewrite the data files that version references, and no reset un-commits a table version. " +
        "Reset from step 3 or 4 (validation and step 4 run again; the table keeps its version), or run " +
        "the changed data as a new projectId (table.mode overwrite or replacePartitions replaces its rows).",
    );
  }
}

/** Reported after each task of a group step, for progress bars. */
export interface ProgressEvent {
  step: GroupStep;
  taskId: string;
  outcome: RunTaskResult["outcome"];
  /** Tasks of the step that succeeded. */
  succeeded: number;
  /** Tasks of the step that failed for good (`ignored`: out of attempts, or an error retrying can't fix). */
  failed: number;
  /** Tasks no longer worked on: succeeded plus failed. */
  finished: number;
  total: number;
  /** Rows this task read (when it succeeded). */
  rows?: number;
  /** Bytes of input this task covered: its snapshot files' size (1.3) or estimated staging bytes (2.3). */
  bytes?: number;
}

/**
 * What a live display needs beyond finished tasks: when a step starts and ends (with its size), and which
 * task each worker took up. Reported by `runAll` (every step) and `drain` (its group step).
 */
export type ActivityEvent =
  | {
      type: "step-started";
      step: StepId;
      /** Group steps: every task of the step, those done before this run, and their input bytes. */
      tasks?: number;
      tasksDone?: number;
      bytes?: number;
      bytesDone?: number;
    }
  | { type: "step-finished"; step: StepId; ok: boolean; rows?: number; files?: number }
  | { type: "task-started"; step: GroupStep; taskId: string; label: string; bytes: number };

export interface RunOptions {
  /** Tasks run at once in this process. Default 2. */
  workers?: number;
  /** Plan compaction even when some step-1.3 tasks did not succeed. */
  force?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  onActivity?: (event: ActivityEvent) => void;
}

export interface OptimizeSummary {
  /** The plans carried out: one resumed from an interrupted run (if any), then one made now. */
  plans: Array<{
    taskId: string;
    readVersion: number;
    groups: number;
    filesRewritten: number;
    bytesRewritten: number;
    commit: OptimizeCommitResult;
  }>;
}

export interface RunSummary {
  manifest: { files: number; bytes: number; fingerprint: string };
  snapshotGroups: StatusCounts;
  partitionGroups: StatusCounts;
  validation: ValidationResult;
  commit: LakeCommitResult;
}

const writtenValidationSchema = z.custom<ValidationResult>(
  (value) =>
    typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean",
  "not a validation result",
);

export abstract class Project implements StepRunner {
  readonly config: ProjectConfig;
  readonly locations: Locations;
  readonly storage: Storage;
  readonly tracker: TaskTracker;
  readonly logger: Logger;
  /** Where step 4 commits the run's lake files: a hive lake, a Delta table or an Iceberg table. */
  readonly lakeTable: LakeTable;
  /** How often to look again while another worker holds a step's task. */
  protected pollMs = 500;
  private manifestPromise: Promise<SnapshotManifest> | undefined;
  /** Leases already reported as waited for (step/task/token), so each is logged once. */
  private readonly reportedWaits = new Set<string>();
  private settingsCheck: Promise<void> | undefined;

  constructor(config: ProjectConfigInput | ProjectConfig, dependencies: ProjectDependencies) {
    this.config = parseProjectConfig(config);
    this.locations = new Locations(this.config.stagingUri, this.config.datalakeUri, this.config.projectId);
    this.storage = dependencies.storage;
    this.tracker = dependencies.tracker;
    this.logger = dependencies.logger ?? silentLogger;
    this.lakeTable = openLakeTable(
      this.config.table,
      this.storage,
      this.config.datalakeUri,
      {
        ...(dependencies.dynamodb ? { dynamodb: dependencies.dynamodb } : {}),
        ...(dependencies.glue ? { glue: dependencies.glue } : {}),
      },
      { keyColumns: mergeKeyColumns(this.config) },
    );
  }

  get projectId(): string {
    return this.config.projectId;
  }

  /** Reads one snapshot file group into a frame (polars DataFrame or apache-arrow Table). */
  abstract batchReadSnapshotDataFile(
    group: SnapshotFileGroup,
    context: ReadContext,
  ): Promise<FrameLike | SnapshotReadResult>;

  /**
   * What the config does not say about how this project reads (`reader`, `derivedColumns` for a config
   * file's project), recorded with the config's settings so that a change is noticed. Projects whose reader
   * is code record nothing here.
   */
  protected readerSettings(): Partial<ProjectSettings> {
    return {};
  }

  /** The settings the steps run with, as recorded by step 0 (see models/settings.ts). */
  settings(): ProjectSettings {
    return projectSettings(this.config, this.readerSettings());
  }

  /**
   * Throws `ConfigChangedError` naming the fields when this config differs from the settings the project's
   * steps ran with. Checked once per Project; nothing recorded yet (a new project) passes.
   */
  checkSettings(): Promise<void> {
    this.settingsCheck ??= (async () => {
      const uri = this.locations.settingsRecord;
      const recorded = await readJsonIfPresent(this.storage, uri, recordedSettingsSchema);
      if (!recorded) return;
      const changed = changedSettings(recorded.settings, this.settings());
      if (changed.length > 0) throw new ConfigChangedError(this.projectId, changed, uri);
    })().catch((error) => {
      this.settingsCheck = undefined;
      throw error;
    });
    return this.settingsCheck;
  }

  /** Columns computed after reading, in order (record id, times, partition keys...). */
  derivedColumns(): DerivedColumn[] {
    return [];
  }

  // --- the numbered steps ------------------------------------------------------------------------------

  /** Step 0: the snapshot manifest (listed from the source, or the user's). */
  async step0BuildManifest(): Promise<SnapshotManifest> {
    await this.checkSettings();
    await this.runSingleStep(Step.manifest, async () => {
      const manifest = await buildSnapshotManifest({
        storage: this.storage,
        locations: this.locations,
        source: this.config.snapshot,
        // An incremental export's lines are changes: only a merge into a table can apply them.
        acceptIncrementalExport: this.config.table.mode === "merge",
      });
      await writeJson(this.storage, this.locations.settingsRecord, recordSettings(this.settings()));
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
  async step1_3ProcessSnapshotGroup(taskId: string): Promise<RunTaskResult> {
    await this.checkSettings();
    return this.tracker.runTask(this.projectId, Step.snapshotToStaging, taskId, async ({ input, signal }) => {
      const group = await readJson(
        this.storage,
        taskData(Step.snapshotToStaging, "input", taskId, input).groupUri,
        snapshotFileGroupSchema,
      );
      const { stagingManifest: _, ...output } = await processSnapshotGroup({
        storage: this.storage,
        locations: this.locations,
        group,
        read: (g, context) => this.batchReadSnapshotDataFile(g, context),
        partitionKeys: this.config.partitionKeys,
        derivedColumns: this.derivedColumns(),
        layout: this.lakeLayout(),
        signal,
      });
      return output;
    });
  }

  /**
   * Step 2.1: staging files into compaction groups; refuses while step 1.3 is incomplete unless forced. A
   * forced (partial) plan is made again once more step-1.3 tasks have succeeded (after a fix and `retry`),
   * still forced, so their rows reach the lake; compaction groups the new plan no longer has are removed.
   */
  async step2_1PlanStagingToDatalake(options: { force?: boolean } = {}) {
    await this.checkSettings();
    const replanning = await this.resetPartialPlan();
    const force = Boolean(options.force) || replanning;
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
          dedupe: dedupeColumn(this.config) !== undefined,
          ...(dedupeColumn(this.config) ? { recordIdColumn: dedupeColumn(this.config) } : {}),
          layout: this.lakeLayout(),
          maxAttempts: this.config.tracker.maxAttempts,
          ...(force ? { force: true } : { snapshotTasks }),
        }),
      force ? undefined : checkBarrier,
    );
  }

  /**
   * When step 2.1 succeeded with a partial (forced) plan and more step-1.3 tasks have succeeded since, its
   * task goes back to pending so it plans again; true then. Only a partial plan costs this extra read.
   */
  private async resetPartialPlan(): Promise<boolean> {
    const plan = await this.tracker.get(this.projectId, Step.planStagingToDatalake, SINGLE_TASK_ID);
    if (plan?.status !== "succeeded" || plan.output.partial !== true) return false;
    const planned = Number(plan.output.stagingManifests);
    const tasks = await this.tracker.list(this.projectId, Step.snapshotToStaging);
    const succeeded = tasks.filter((task) => task.status === "succeeded").length;
    if (succeeded <= planned) return false;
    this.logger.info(
      { step: Step.planStagingToDatalake, planned, succeeded },
      "snapshot groups succeeded since the forced compaction plan: planning compaction again",
    );
    // Conditional on the status: of several processes seeing this at once, one resets and all plan once.
    await this.tracker.reset(this.projectId, Step.planStagingToDatalake, { statuses: ["succeeded"] });
    return true;
  }

  /** Step 2.2: compaction groups still to do. */
  step2_2ListPartitionGroupsTodo(): Promise<Task[]> {
    return listTodo({ tracker: this.tracker, projectId: this.projectId, step: Step.compact });
  }

  /** The form of the lake's files, which step 1.3 writes staging files in. */
  private lakeLayout(): LakeLayout {
    const recordIdColumn = dedupeColumn(this.config);
    const { updateTimeColumn } = this.config;
    return {
      sortBy: this.config.sortBy,
      compression: this.config.compression,
      rowGroupSize: this.config.rowGroupSize,
      ...(recordIdColumn && updateTimeColumn ? { dedupe: { recordIdColumn, updateTimeColumn } } : {}),
    };
  }

  /** Step 2.3: one compaction group into lake Parquet. */
  async step2_3CompactPartitionGroup(taskId: string): Promise<RunTaskResult> {
    await this.checkSettings();
    const recordIdColumn = dedupeColumn(this.config);
    const { updateTimeColumn } = this.config;
    return this.tracker.runTask(this.projectId, Step.compact, taskId, async ({ input, signal }) => {
      const group = await readJson(
        this.storage,
        taskData(Step.compact, "input", taskId, input).groupUri,
        partitionFileGroupSchema,
      );
      return compactPartitionGroup({
        storage: this.storage,
        locations: this.locations,
        group,
        lakeSchema: await readJson(this.storage, this.locations.lakeSchema, lakeSchemaSchema),
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
    await this.checkSettings();
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
        ...(dedupeColumn(this.config) ? { recordIdColumn: dedupeColumn(this.config) } : {}),
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

  /**
   * Step 4: commits the run's lake files to the table (a Delta commit; nothing for a hive lake), once per
   * project and only after step 3 has passed. Idempotent: a table already holding the project's commit
   * gets no second one.
   */
  async step4Commit(): Promise<LakeCommitResult> {
    // Also when step 4 already ran: a changed table setting is refused, not answered with the old result.
    await this.checkSettings();
    // Done already: what its commit wrote then, marked as such, rather than a result that reads as new.
    const done = await this.tracker.get(this.projectId, Step.commit, SINGLE_TASK_ID);
    if (done?.status === "succeeded") return { ...(done.output as LakeCommitResult), earlier: true };
    return this.runSingleStep(
      Step.commit,
      async () =>
        commitRun({
          tracker: this.tracker,
          projectId: this.projectId,
          table: this.lakeTable,
          partitionKeys: this.config.partitionKeys,
          // Undefined before step 2.1 has planned: step 4 then fails on the unfinished run.
          lakeSchema: await readJsonIfPresent(this.storage, this.locations.lakeSchema, lakeSchemaSchema),
        }),
      async () => {
        const validation = await this.tracker.get(this.projectId, Step.validate, SINGLE_TASK_ID);
        if (validation?.status !== "succeeded") throw new NotValidatedError(this.projectId);
      },
    );
  }

  // --- maintenance across runs --------------------------------------------------------------------------

  /**
   * Optimize: bin-packs the small files of each partition of the whole table (every run's files, not only
   * this project's) into files of about `targetFileSize` (default targetParquetFileSize), in one commit
   * that changes no data. Tracked: the plan (its read version and groups) is recorded before anything is
   * written, and a plan an interrupted or failed run left unfinished is carried out first, so a retry
   * never rewrites twice. Safe against concurrent appends; a plan whose inputs another commit removed is
   * superseded and made again.
   */
  async optimize(options: { targetFileSize?: number } = {}): Promise<OptimizeSummary> {
    const plans: OptimizeSummary["plans"] = [];
    // Asking again is the retry: plans that failed for good go back to pending with fresh attempts.
    await this.tracker.reset(this.projectId, OPTIMIZE_STEP);
    const unfinished = (await this.tracker.list(this.projectId, OPTIMIZE_STEP))
      .filter((task) => task.status !== "succeeded")
      .map((task) => task.taskId)
      .sort();
    for (const taskId of unfinished) plans.push(await this.runOptimizePlan(taskId));
    for (;;) {
      const plan = await this.lakeTable.planOptimize({
        targetFileSize: options.targetFileSize ?? this.config.targetParquetFileSize,
      });
      if (plan.groups.length === 0) return { plans };
      const taskId = `v${plan.readVersion}-${plan.id.slice(0, 16)}`;
      await writeJson(this.storage, this.locations.optimizePlan(taskId), plan);
      const done = await this.runOptimizePlan(taskId);
      plans.push(done);
      if (!done.commit.superseded) return { plans };
    }
  }

  private async runOptimizePlan(taskId: string): Promise<OptimizeSummary["plans"][number]> {
    const planUri = this.locations.optimizePlan(taskId);
    return this.runSingleStep(
      OPTIMIZE_STEP,
      async ({ signal }) => {
        const plan = await readJson(this.storage, planUri, optimizePlanSchema);
        let bytesRewritten = 0;
        for (const group of plan.groups) {
          await rewriteOptimizeGroup(this.storage, plan, group, {
            sortBy: this.config.sortBy,
            compression: this.config.compression,
            rowGroupSize: this.config.rowGroupSize,
            signal,
          });
          bytesRewritten += group.inputs.reduce((sum, input) => sum + input.size, 0);
        }
        const commit = await this.lakeTable.commitOptimize(plan, this.projectId);
        return {
          taskId,
          readVersion: plan.readVersion,
          groups: plan.groups.length,
          filesRewritten: plan.groups.reduce((sum, group) => sum + group.inputs.length, 0),
          bytesRewritten,
          commit,
        };
      },
      undefined,
      { taskId, input: { planUri } },
    );
  }

  /** Deletes (or with `dryRun` lists) the table's files that no version inside the retention window references. */
  vacuum(options: { retainMs: number; dryRun: boolean }): Promise<VacuumResult> {
    return this.lakeTable.vacuum(options);
  }

  // --- orchestration -------------------------------------------------------------------------------------

  /**
   * Runs every step with `workers` tasks at a time in this process. Safe to run in several processes at
   * once (each takes its share). Stops with `StageBarrierError` when step 1.3 left tasks unfinished, unless
   * `force`, and with `ValidationFailedError` when the lake doesn't add up.
   */
  async runAll(options: RunOptions = {}): Promise<RunSummary> {
    const outputs = new Map<StepId, unknown>();
    for (const definition of STEP_CATALOGUE as readonly StepDefinition[]) {
      if (definition.kind === "group") {
        await this.drain(definition.id as GroupStep, options);
        continue;
      }
      const value = await this.reportedStep(options, definition.id as StepId, async () => {
        const output = await definition.run(this, { force: options.force ?? false });
        return { value: output, ...(await this.stepFigures(definition.id as StepId, output)) };
      });
      outputs.set(definition.id as StepId, value);
    }
    const manifest = await this.manifest();
    return {
      manifest: { files: manifest.files.length, bytes: manifest.size, fingerprint: manifest.fingerprint },
      snapshotGroups: await this.tracker.counts(this.projectId, Step.snapshotToStaging),
      partitionGroups: await this.tracker.counts(this.projectId, Step.compact),
      validation: outputs.get(Step.validate) as ValidationResult,
      commit: outputs.get(Step.commit) as LakeCommitResult,
    };
  }

  /** Runs a single-task step of `runAll`, telling `onActivity` when it starts and ends. */
  private async reportedStep<T>(
    options: RunOptions,
    step: StepId,
    fn: () => Promise<{ value: T; rows?: number; files?: number }>,
  ): Promise<T> {
    options.onActivity?.({ type: "step-started", step });
    try {
      const { value, rows, files } = await fn();
      options.onActivity?.({
        type: "step-finished",
        step,
        ok: true,
        ...(rows === undefined ? {} : { rows }),
        ...(files === undefined ? {} : { files }),
      });
      return value;
    } catch (error) {
      options.onActivity?.({ type: "step-finished", step, ok: false });
      throw error;
    }
  }

  /** The rows and files a single-task step reports when it ends (for the live view). */
  private async stepFigures(step: StepId, output: unknown): Promise<{ rows?: number; files?: number }> {
    if (step === Step.manifest) return { files: (await this.manifest()).files.length };
    if (step === Step.validate) {
      const { lake } = output as ValidationResult;
      return { rows: lake.rows, files: lake.files };
    }
    if (step === Step.commit) return { files: (output as LakeCommitResult).filesAdded };
    return {};
  }

  /**
   * One task by step and id: the unit an external orchestrator (one Lambda invocation) runs. A single-task
   * step (any id; it has one task) gives its output; a group step its task's tracker result.
   */
  async processTask(step: StepId, taskId: string): Promise<StepOutcome> {
    const definition = stepDefinition(step);
    if (definition.kind === "group") return definition.run(this, taskId);
    return { outcome: "succeeded", output: await definition.run(this) };
  }

  /** Writes a group step's todo list as JSON (Step Functions' ItemReader format): where, and how many tasks. */
  async writeTodoList(step: GroupStep): Promise<{ uri: string; count: number }> {
    await this.checkSettings();
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

  /**
   * Starts the project over from `fromStep`: the tasks of that step and every later one are deleted (those
   * of a group step whose plan is kept go back to pending), with what they wrote (manifests, staging data,
   * bad rows, lake files of the compaction groups, the validation result). The settings are recorded
   * again from this config, so a changed config can run; a setting that shapes an earlier step than
   * `fromStep` is refused with `ConfigChangedError`, naming the step to reset from.
   */
  async reset(fromStep: StepId): Promise<{ fromStep: StepId; tasks: number; files: number }> {
    const from = ALL_STEPS.indexOf(fromStep);
    const resets = (step: StepId) => ALL_STEPS.indexOf(step) >= from;
    const recordUri = this.locations.settingsRecord;
    const recorded = await readJsonIfPresent(this.storage, recordUri, recordedSettingsSchema);
    const changed = recorded ? changedSettings(recorded.settings, this.settings()) : [];
    if (changed.length > 0 && !resets(firstStepOf(changed)))
      throw new ConfigChangedError(this.projectId, changed, recordUri);
    // A committed Delta version (or Iceberg snapshot) references the run's lake files, which a reset from 2.3 or earlier deletes.
    if (resets(Step.stagingToDatalake)) {
      const version = await this.lakeTable.committedVersion(this.projectId);
      if (version !== null)
        throw new RunCommittedError(
          this.projectId,
          this.config.datalakeUri,
          version,
          fromStep,
          this.lakeTable.format,
        );
    }

    let tasks = 0;
    let files = 0;
    const deleteUnder = async (folder: string) => {
      const uris: string[] = [];
      for await (const object of this.storage.list(folder)) uris.push(object.uri);
      await this.storage.delete(uris);
      files += uris.length;
    };
    const restart = async (step: StepId) => {
      tasks += await this.tracker.reset(this.projectId, step, { statuses: TASK_STATUSES });
    };
    const remove = async (step: StepId) => {
      tasks += await this.tracker.deleteTasks(this.projectId, step);
    };
    const { locations } = this;
    // Later steps first, so an interrupted reset leaves a project that the next reset finishes. Step 4 runs
    // again: a table that holds the project's commit recognises it (txn) and commits nothing.
    await remove(Step.commit);
    if (resets(Step.validate)) {
      await remove(Step.validate);
      await this.storage.delete([locations.validationResult]);
    }
    if (resets(Step.compact)) await deleteUnder(locations.todoLists);
    if (fromStep === Step.compact) await restart(Step.compact);
    else if (resets(Step.planStagingToDatalake)) {
      const groups = await this.tracker.list(this.projectId, Step.compact);
      const { storage, tracker, projectId } = this;
      tasks += await removeCompactionGroups({ storage, tracker, projectId, locations, tasks: groups });
      await remove(Step.planStagingToDatalake);
      await deleteUnder(locations.partitionFileGroups);
    }
    if (resets(Step.snapshotToStaging)) {
      for (const folder of [locations.stagingManifests, locations.stagingData, locations.badRowsFolder])
        await deleteUnder(folder);
      if (fromStep === Step.snapshotToStaging) await restart(Step.snapshotToStaging);
      else await remove(Step.snapshotToStaging);
    }
    if (resets(Step.planSnapshotToStaging)) {
      await remove(Step.planSnapshotToStaging);
      await deleteUnder(locations.snapshotFileGroups);
    }
    if (fromStep === Step.manifest) {
      await remove(Step.manifest);
      await deleteUnder(locations.snapshotManifestFolder);
      await this.storage.delete([recordUri]);
    } else if (recorded) {
      await writeJson(this.storage, recordUri, recordSettings(this.settings()));
    }
    this.manifestPromise = undefined;
    this.settingsCheck = undefined;
    this.logger.info({ fromStep, tasks, files }, "project reset");
    return { fromStep, tasks, files };
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

  /**
   * Runs the tasks of a group step until none is left, `workers` at a time; tasks that failed with a
   * retryable error are retried (after the tracker's backoff) while they have attempts left.
   */
  async drain(
    step: GroupStep,
    options: Pick<RunOptions, "workers" | "onProgress" | "onActivity"> = {},
  ): Promise<void> {
    await this.checkSettings();
    const limit = pLimit(Math.max(1, options.workers ?? 2));
    const counts = await this.tracker.counts(this.projectId, step);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    let succeeded = counts.succeeded;
    let failed = counts.ignored;
    let rows = 0;
    let files = 0;
    if (options.onActivity) {
      const tasks = await this.tracker.list(this.projectId, step);
      const done = tasks.filter((t) => t.status === "succeeded" || t.status === "ignored");
      const sum = (list: Task[]) => list.reduce((n, t) => n + taskBytes(t.input), 0);
      options.onActivity({
        type: "step-started",
        step,
        tasks: total,
        tasksDone: done.length,
        bytes: sum(tasks),
        bytesDone: sum(done),
      });
    }
    for (;;) {
      const todo = await this.tracker.todo(this.projectId, step);
      if (todo.length === 0) {
        const counts = await this.tracker.counts(this.projectId, step);
        if (counts.in_progress === 0) {
          options.onActivity?.({ type: "step-finished", step, ok: counts.ignored === 0, rows, files });
          return;
        }
        // Another process holds tasks: wait for them, or for their leases to expire.
        for (const held of await this.tracker.list(this.projectId, step, { statuses: ["in_progress"] }))
          this.reportWaiting(held);
        await sleep(this.pollMs);
        continue;
      }
      await Promise.all(
        todo.map((task) =>
          limit(async () => {
            const bytes = taskBytes(task.input);
            options.onActivity?.({
              type: "task-started",
              step,
              taskId: task.taskId,
              label: taskLabel(task.input, task.taskId),
              bytes,
            });
            const result = await stepDefinition(step).run(this, task.taskId);
            let taskRows: number | undefined;
            if (result.outcome === "failed") {
              const { task: t, error } = result;
              const final = t.status === "ignored";
              if (final) failed++;
              this.logger.warn(
                { step, taskId: task.taskId, status: t.status, attempt: t.attempts, err: error },
                final ? "task failed for good" : "task failed; it will be retried",
              );
            } else if (result.outcome === "succeeded") {
              succeeded++;
              const output = result.task.output as Partial<
                SnapshotGroupTaskOutput & PartitionGroupTaskOutput
              >;
              taskRows = output.rowsRead ?? 0;
              rows += taskRows;
              files += output.stagingFiles ?? output.lakeFiles?.length ?? 0;
              this.logger.info({ step, taskId: task.taskId }, "task succeeded");
            }
            options.onProgress?.({
              step,
              taskId: task.taskId,
              outcome: result.outcome,
              succeeded,
              failed,
              finished: succeeded + failed,
              total,
              ...(taskRows === undefined ? {} : { rows: taskRows }),
              bytes,
            });
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
   * succeeded, waits while another process holds it, retries retryable failures while attempts are left,
   * and throws (the step's `SnaplakeError`, or `StepFailedError`) when it fails for good.
   * `beforeClaim` runs once, only when the step is still to do, before its task is claimed.
   */
  protected async runSingleStep<O extends TaskData>(
    step: StepId | typeof OPTIMIZE_STEP,
    fn: (context: TaskContext) => Promise<O>,
    beforeClaim?: () => Promise<void>,
    task: { taskId: string; input: TaskData } = { taskId: SINGLE_TASK_ID, input: {} },
  ): Promise<O> {
    let prepared = false;
    for (;;) {
      const current = await this.tracker.get(this.projectId, step, task.taskId);
      if (current?.status === "succeeded") return current.output as O;
      if (current?.status === "ignored") throw new StepFailedError(step, current);
      if (beforeClaim && !prepared) {
        await beforeClaim();
        prepared = true;
      }
      if (!current) {
        await this.tracker.createTasks(this.projectId, step, [task], {
          maxAttempts: this.config.tracker.maxAttempts,
        });
      }
      const result = await this.tracker.runTask(this.projectId, step, task.taskId, fn);
      if (result.outcome === "succeeded") return result.task.output as O;
      // A retryable failure with attempts left: runTask waited out the backoff; try again.
      if (result.outcome === "failed" && result.task.status === "failed") continue;
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

/** Input bytes of a group step's task: its files' size (1.3) or the estimated staging bytes (2.3). */
function taskBytes(input: TaskData): number {
  const { size, estimatedBytes } = input as Partial<SnapshotGroupTaskInput & PartitionGroupTaskInput>;
  return size ?? estimatedBytes ?? 0;
}

/** How a display names a group step's task: the partition it compacts, or the files it reads. */
function taskLabel(input: TaskData, taskId: string): string {
  const { partition, files } = input as Partial<SnapshotGroupTaskInput & PartitionGroupTaskInput>;
  const id = taskId.slice(0, 8);
  if (partition !== undefined) return `${partition || "(unpartitioned)"} [${id}]`;
  return `group ${id}${files === undefined ? "" : ` (${files} file${files === 1 ? "" : "s"})`}`;
}
