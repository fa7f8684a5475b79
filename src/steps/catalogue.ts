/**
 * The step catalogue: the one place a step is defined. Each entry says what the step is called (its
 * tracker id, number, CLI name and the older names still accepted), its kind, the shape of its tasks'
 * input and output (zod, so task data read back from the tracker is parsed, not cast), the settings whose
 * change it is the first to feel, what runs it, how the Lambda summarizes it and its place in the Step
 * Functions state machine. `Step`, the CLI's step names, `Project.processTask`, `status`, the Lambda's
 * events and the state machine all derive from this list, in its order: adding a step is one entry here
 * plus its own file (and the `StepRunner` method that runs it).
 *
 * This module imports no step file (they import it for the ids), so it stays free of cycles.
 */
import { z } from "zod";
import { formatZodIssues, SnaplakeError } from "../errors.js";
import type { RunTaskResult, TaskData } from "../tracker/types.js";

/**
 * `planning`: one task that creates the next step's tasks (or the manifest they start from); `group`: one
 * task per group, which workers fan out over; `single-task`: one task for the whole project (validation,
 * commit). Every kind but `group` is run by the Lambda as one `step` action.
 */
export type StepKind = "planning" | "group" | "single-task";

/** The project methods the catalogue's steps run; `Project` implements it. */
export interface StepRunner {
  step0BuildManifest(): Promise<TaskData | object>;
  step1_1PlanSnapshotToStaging(): Promise<TaskData>;
  step1_3ProcessSnapshotGroup(taskId: string): Promise<RunTaskResult>;
  step2_1PlanStagingToDatalake(options?: StepRunOptions): Promise<TaskData>;
  step2_3CompactPartitionGroup(taskId: string): Promise<RunTaskResult>;
  step3ValidateDatalake(): Promise<object>;
  step4Commit(): Promise<object>;
}

/** How a single-task step is asked to run. */
export interface StepRunOptions {
  /** Step 2.1: plan compaction even when some step-1.3 tasks did not succeed. */
  force?: boolean;
}

/** What running one task of a step gives: a group task's tracker result, or a single-task step's output. */
export type StepOutcome = RunTaskResult | { outcome: "succeeded"; output: unknown };

/** A single-task step's place in the state machine: one Lambda `step` state. */
export interface SingleStepState {
  name: string;
  resultPath: string;
  /** Retried while the previous group step is unfinished (the step refuses with StageBarrierError). */
  waitsForStage?: boolean;
}

/** A group step's place in the state machine: a `todo` state writing its list, then a Distributed Map. */
export interface GroupStepStates {
  todo: { name: string; resultPath: string };
  map: { name: string; item: string; itemFailed: string; resultPath: string };
}

interface StepBase<Key extends string, Id extends string> {
  /** The name in code (`Step.compact`) and in summaries. */
  key: Key;
  /** The id in the tracker table; never changes, or trackers from earlier versions lose their tasks. */
  id: Id;
  number: string;
  /** The readable CLI name (`snaplake step compact`). */
  name: string;
  /** Older names still accepted on the command line. */
  aliases: readonly string[];
  summary: string;
  /** The recorded settings (see settings.ts) whose change this step is the first to feel. */
  settings: readonly string[];
}

export interface SingleTaskStepDefinition<Key extends string = string, Id extends string = string>
  extends StepBase<Key, Id> {
  kind: "planning" | "single-task";
  state: SingleStepState;
  run: (runner: StepRunner, options?: StepRunOptions) => Promise<unknown>;
  /** A few numbers about the step's output, small enough for a Step Functions state's output. */
  summarize: (output: unknown) => Record<string, unknown>;
}

export interface GroupStepDefinition<
  Key extends string = string,
  Id extends string = string,
  Input extends TaskData = TaskData,
  Output extends TaskData = TaskData,
> extends StepBase<Key, Id> {
  kind: "group";
  /** The step listing the tasks still to do (1.2 for 1.3): a number, read from the tracker. */
  todoNumber: string;
  /** The step whose task creates this one's tasks. */
  plannedBy: string;
  input: z.ZodType<Input>;
  output: z.ZodType<Output>;
  state: GroupStepStates;
  run: (runner: StepRunner, taskId: string) => Promise<RunTaskResult>;
}

export type StepDefinition = SingleTaskStepDefinition | GroupStepDefinition;

// --- the group steps' task data --------------------------------------------------------------------------

export const snapshotGroupTaskInputSchema = z.object({
  groupUri: z.string(),
  fingerprint: z.string(),
  files: z.number(),
  size: z.number(),
});
export type SnapshotGroupTaskInput = z.infer<typeof snapshotGroupTaskInputSchema>;

export const snapshotGroupTaskOutputSchema = z.object({
  stagingManifestUri: z.string(),
  rowsRead: z.number(),
  rowsWritten: z.number(),
  badRows: z.number(),
  dropped: z.record(z.string(), z.number()),
  stagingFiles: z.number(),
});
export type SnapshotGroupTaskOutput = z.infer<typeof snapshotGroupTaskOutputSchema>;

export const partitionGroupTaskInputSchema = z.object({
  groupUri: z.string(),
  fingerprint: z.string(),
  partition: z.string(),
  files: z.number(),
  estimatedBytes: z.number(),
});
export type PartitionGroupTaskInput = z.infer<typeof partitionGroupTaskInputSchema>;

export const partitionGroupTaskOutputSchema = z.object({
  rowsRead: z.number(),
  rowsWritten: z.number(),
  duplicatesRemoved: z.number(),
  lakeFiles: z.array(z.object({ uri: z.string(), size: z.number(), nRecord: z.number() })),
  bytesWritten: z.number(),
});
export type PartitionGroupTaskOutput = z.infer<typeof partitionGroupTaskOutputSchema>;

// --- the catalogue -----------------------------------------------------------------------------------------

const numbers = (output: unknown) => ({ ...(output as Record<string, unknown>) });

/** The steps, in the order they run. */
export const STEP_CATALOGUE = [
  {
    key: "manifest",
    id: "0-manifest",
    number: "0",
    name: "manifest",
    aliases: [],
    kind: "planning",
    summary: "the snapshot manifest: every file's URI, etag and size, and their fingerprint",
    settings: ["snapshot"],
    run: (runner) => runner.step0BuildManifest(),
    summarize: (output) => {
      const manifest = output as {
        files: unknown[];
        size: number;
        nRecord: number | null;
        fingerprint: string;
      };
      return {
        files: manifest.files.length,
        bytes: manifest.size,
        rows: manifest.nRecord,
        fingerprint: manifest.fingerprint,
      };
    },
    state: { name: "Manifest", resultPath: "$.manifest" },
  },
  {
    key: "planSnapshotToStaging",
    id: "1.1-plan-snapshot-to-staging",
    number: "1.1",
    name: "plan-snapshot",
    aliases: [],
    kind: "planning",
    summary: "snapshot files into balanced groups, one step-1.3 task per group",
    settings: ["targetFileGroupSize"],
    run: (runner) => runner.step1_1PlanSnapshotToStaging(),
    summarize: numbers,
    state: { name: "PlanSnapshotToStaging", resultPath: "$.planSnapshotToStaging" },
  },
  {
    key: "snapshotToStaging",
    id: "1.3-snapshot-to-staging",
    number: "1.3",
    name: "process-snapshot",
    aliases: [],
    kind: "group",
    todoNumber: "1.2",
    plannedBy: "1.1-plan-snapshot-to-staging",
    summary: "one snapshot group, read by the project's reader, into staging Parquet and bad rows",
    settings: ["reader", "derivedColumns", "partitionKeys"],
    input: snapshotGroupTaskInputSchema,
    output: snapshotGroupTaskOutputSchema,
    run: (runner, taskId) => runner.step1_3ProcessSnapshotGroup(taskId),
    state: {
      todo: { name: "ListSnapshotGroupsTodo", resultPath: "$.snapshotGroupsTodo" },
      map: {
        name: "ProcessSnapshotGroups",
        item: "ProcessSnapshotGroup",
        itemFailed: "SnapshotGroupFailed",
        resultPath: "$.snapshotGroups",
      },
    },
  },
  {
    key: "planStagingToDatalake",
    id: "2.1-plan-staging-to-datalake",
    number: "2.1",
    name: "plan-staging",
    aliases: [],
    kind: "planning",
    summary: "the lake schema, and staging files into compaction groups, one step-2.3 task per group",
    settings: ["recordIdColumn", "updateTimeColumn", "targetParquetFileSize"],
    run: (runner, options) => runner.step2_1PlanStagingToDatalake(options),
    summarize: numbers,
    state: { name: "PlanStagingToDatalake", resultPath: "$.planStagingToDatalake", waitsForStage: true },
  },
  {
    key: "compact",
    // The tracker id predates the name "compact"; it stays so trackers from earlier versions keep their tasks.
    id: "2.3-staging-to-datalake",
    number: "2.3",
    name: "compact",
    aliases: ["staging-to-datalake"],
    kind: "group",
    todoNumber: "2.2",
    plannedBy: "2.1-plan-staging-to-datalake",
    summary: "one compaction group into lake Parquet: cast to the lake schema, de-duplicated, sorted",
    settings: ["sortBy", "compression", "rowGroupSize"],
    input: partitionGroupTaskInputSchema,
    output: partitionGroupTaskOutputSchema,
    run: (runner, taskId) => runner.step2_3CompactPartitionGroup(taskId),
    state: {
      todo: { name: "ListPartitionGroupsTodo", resultPath: "$.partitionGroupsTodo" },
      map: {
        name: "ProcessPartitionGroups",
        item: "ProcessPartitionGroup",
        itemFailed: "PartitionGroupFailed",
        resultPath: "$.partitionGroups",
      },
    },
  },
  {
    key: "validate",
    id: "3-validate",
    number: "3",
    name: "validate",
    aliases: [],
    kind: "single-task",
    summary: "rows accounted for end to end, every lake file with the lake schema",
    settings: [],
    run: (runner) => runner.step3ValidateDatalake(),
    summarize: (output) => {
      const { ok, lake } = output as { ok: boolean; lake: Record<string, unknown> };
      return { ok, ...lake };
    },
    state: { name: "Validate", resultPath: "$.validation" },
  },
  {
    key: "commit",
    id: "4-commit",
    number: "4",
    name: "commit",
    aliases: [],
    kind: "single-task",
    summary: "the validated run's lake files become the table's (a Delta commit; nothing for hive)",
    settings: ["table"],
    run: (runner) => runner.step4Commit(),
    summarize: numbers,
    // Only a validated run reaches the table: a failed validation ends the execution before this state.
    state: { name: "Commit", resultPath: "$.commit" },
  },
] as const satisfies readonly StepDefinition[];

type Entry = (typeof STEP_CATALOGUE)[number];
export type StepKey = Entry["key"];
export type StepId = Entry["id"];
export type GroupStep = Extract<Entry, { kind: "group" }>["id"];
export type SingleTaskStep = Exclude<StepId, GroupStep>;

/** Step ids by key: `Step.compact` is "2.3-staging-to-datalake". */
export const Step = {
  ...(Object.fromEntries(STEP_CATALOGUE.map((s) => [s.key, s.id])) as {
    readonly [E in Entry as E["key"]]: E["id"];
  }),
  /** @deprecated step 2.3's name before "compact"; the same id. */
  stagingToDatalake: "2.3-staging-to-datalake",
} as const;

export const ALL_STEPS: readonly StepId[] = STEP_CATALOGUE.map((s) => s.id);

function isGroup(step: StepDefinition): step is GroupStepDefinition {
  return step.kind === "group";
}

/** Steps with one task per group: the ones workers fan out over. */
export const GROUP_STEPS = STEP_CATALOGUE.filter(isGroup).map((s) => s.id as GroupStep) as [
  GroupStep,
  ...GroupStep[],
];

/** Steps with one task each (planning, validation, commit): the ones a worker (a Lambda `step`) runs whole. */
export const SINGLE_TASK_STEPS = STEP_CATALOGUE.filter((s) => !isGroup(s)).map(
  (s) => s.id as SingleTaskStep,
) as [SingleTaskStep, ...SingleTaskStep[]];

/** The task id of single-task (planning) steps. */
export const SINGLE_TASK_ID = "all";

export function stepDefinition(step: SingleTaskStep): SingleTaskStepDefinition;
export function stepDefinition(step: GroupStep): GroupStepDefinition;
export function stepDefinition(step: StepId): StepDefinition;
export function stepDefinition(step: StepId): StepDefinition {
  const found = (STEP_CATALOGUE as readonly StepDefinition[]).find((s) => s.id === step);
  if (!found) throw new SnaplakeError("CONFIG_INVALID", `unknown step ${step}`);
  return found;
}

export function isGroupStep(step: StepId): step is GroupStep {
  return (GROUP_STEPS as readonly string[]).includes(step);
}

/**
 * The names a step is asked for by on the command line: its number, name, older aliases and tracker id;
 * a group step's todo listing (1.2, 2.2) by its number. In catalogue order.
 */
export function stepNames(): Array<{ name: string; step: StepId; todo: boolean }> {
  return (STEP_CATALOGUE as readonly StepDefinition[]).flatMap((s) => [
    ...(isGroup(s) ? [{ name: s.todoNumber, step: s.id as StepId, todo: true }] : []),
    ...[s.number, s.name, ...s.aliases, s.id].map((name) => ({ name, step: s.id as StepId, todo: false })),
  ]);
}

/** A task's input or output in the tracker does not have its step's shape (written by another version?). */
export class TaskDataInvalidError extends SnaplakeError {
  constructor(step: string, taskId: string, part: "input" | "output", issues: string[]) {
    super(
      "TASK_DATA_INVALID",
      `Task ${taskId} of step ${step} has an invalid ${part} in the tracker (${issues.join("; ")}). ` +
        `Reset the project from the step that planned it (snaplake reset --from-step <step>) to plan it again.`,
    );
  }
}

type GroupEntry<S extends GroupStep> = Extract<Entry, { id: S }>;

/** A group task's input or output, parsed against its step's schema (never cast). */
export function taskData<S extends GroupStep, P extends "input" | "output">(
  step: S,
  part: P,
  taskId: string,
  data: TaskData,
): z.infer<GroupEntry<S>[P]> {
  const parsed = stepDefinition(step)[part].safeParse(data);
  if (!parsed.success)
    throw new TaskDataInvalidError(step, taskId, part, formatZodIssues(parsed.error.issues));
  return parsed.data as z.infer<GroupEntry<S>[P]>;
}

/** A group task's input, parsed against its step's schema. */
export function taskInput<S extends GroupStep>(step: S, task: { taskId: string; input: TaskData }) {
  return taskData(step, "input", task.taskId, task.input);
}

/** A group task's output, parsed against its step's schema. */
export function taskOutput<S extends GroupStep>(step: S, task: { taskId: string; output: TaskData }) {
  return taskData(step, "output", task.taskId, task.output);
}
