/**
 * The AWS Lambda worker behind the Step Functions state machine (state-machine.ts): one invocation runs
 * one unit of the workflow for the project described by its config.
 *
 *   { action: "step", step: "0-manifest" | "1.1-…" | "2.1-…" | "3-validate" | "4-commit" }   a single-task step
 *   { action: "todo", step: "1.3-…" | "2.3-…" }       writes the todo list JSON for the next Distributed Map
 *                                                     and returns { bucket, key, uri, count, resultsPrefix }
 *   { action: "task", step: "1.3-…" | "2.3-…", taskId }   one group task (one Map item)
 *
 * Every event may carry `projectId` (checked against the config, so a state machine can't drive the wrong
 * project's function) and `configUri` (overrides the environment). The config comes from
 * `SNAPLAKE_CONFIG` (JSON text) or `SNAPLAKE_CONFIG_URI` (s3:// or a local path).
 *
 * Failures throw typed errors; Lambda reports the class name as the error type, which is what the state
 * machine's Retry and Catch match. A task another worker holds (`not_claimable`) or took over
 * (`lease_lost`) is NOT an error: that worker records the result, and the stage barrier before the next
 * plan (StageBarrierError) catches anything left unfinished. Throwing instead would make Step Functions
 * retry a task that is being done, or fail a Map while the work is going fine.
 */
import { z } from "zod";
import {
  type ConfiguredProjectDefinition,
  createConfiguredProject,
  parseConfiguredProject,
} from "../configured-project.js";
import { ConfigError, type ErrorCode, formatZodIssues, SnaplakeError } from "../errors.js";
import { parseJsonText } from "../json-file.js";
import { createLogger, type Logger } from "../logging.js";
import { sha256Hex } from "../models/fingerprint.js";
import type { Project } from "../project.js";
import { openRuntime, type Runtime } from "../runtime.js";
import {
  GROUP_STEPS,
  type GroupStep,
  SINGLE_TASK_STEPS,
  type SingleTaskStep,
  type StepId,
  stepDefinition,
} from "../steps/catalogue.js";
import { createStorage } from "../storage/create.js";
import type { Storage } from "../storage/types.js";
import { parentFolder, parseUri } from "../storage/uri.js";
import type { Task, TaskStatus } from "../tracker/types.js";
import { assertRunsOnStepFunctions } from "./state-machine.js";

export const CONFIG_ENV = "SNAPLAKE_CONFIG";
export const CONFIG_URI_ENV = "SNAPLAKE_CONFIG_URI";

// --- events ----------------------------------------------------------------------------------------------

const common = {
  /** The project the caller means; must match the config's `projectId`. */
  projectId: z.string().min(1).optional(),
  /** Read the config from here instead of the environment. */
  configUri: z.string().min(1).optional(),
};

export const lambdaEventSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("step"), step: z.enum(SINGLE_TASK_STEPS), ...common }).strict(),
  z.object({ action: z.literal("todo"), step: z.enum(GROUP_STEPS), ...common }).strict(),
  z
    .object({ action: z.literal("task"), step: z.enum(GROUP_STEPS), taskId: z.string().min(1), ...common })
    .strict(),
]);
export type LambdaEvent = z.infer<typeof lambdaEventSchema>;

// --- results ---------------------------------------------------------------------------------------------

export interface StepActionResult {
  action: "step";
  projectId: string;
  step: SingleTaskStep;
  outcome: "succeeded";
  /** A few numbers about the step, small enough for a state's output. */
  summary: Record<string, unknown>;
}

export interface TodoActionResult {
  action: "todo";
  projectId: string;
  step: GroupStep;
  /** Where the JSON list `[{projectId, step, taskId}, ...]` is: the Map's ItemReader reads it. */
  bucket: string;
  key: string;
  uri: string;
  count: number;
  /** A key prefix next to the list where the Map's ResultWriter can put the run's results. */
  resultsPrefix: string;
}

export interface TaskActionResult {
  action: "task";
  projectId: string;
  step: GroupStep;
  taskId: string;
  /** `not_claimable`: another worker holds the task, or it already succeeded (see `status`). */
  outcome: "succeeded" | "not_claimable" | "lease_lost";
  status: TaskStatus | undefined;
}

export type LambdaResult = StepActionResult | TodoActionResult | TaskActionResult;

// --- errors ----------------------------------------------------------------------------------------------

export class InvalidEventError extends SnaplakeError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super("LAMBDA_EVENT_INVALID", `Lambda event is invalid: ${issues.join("; ")}`);
    this.issues = issues;
  }
}

function describeTask(task: Task | undefined, error: unknown): string {
  const last = task?.errors.at(-1);
  if (last) return `${last.name}: ${last.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return "unknown error";
}

/** One attempt of a group task failed; the tracker has attempts left, so retrying the invocation helps. */
export class TaskFailedError extends SnaplakeError {
  readonly step: string;
  readonly taskId: string;
  readonly status: TaskStatus | undefined;
  constructor(
    projectId: string,
    step: string,
    taskId: string,
    task: Task | undefined,
    error?: unknown,
    code: ErrorCode = "TASK_FAILED",
  ) {
    const attempts = task ? ` (${task.status}, attempt ${task.attempts}/${task.maxAttempts})` : "";
    super(
      code,
      `Task ${taskId} of step ${step} (project ${projectId}) failed${attempts}: ${describeTask(task, error)}`,
      { cause: error },
    );
    this.step = step;
    this.taskId = taskId;
    this.status = task?.status;
  }
}

/** The task failed for good (status `ignored`): retrying won't help until someone runs `snaplake retry`. */
export class TaskAttemptsExhaustedError extends TaskFailedError {
  constructor(projectId: string, step: string, taskId: string, task: Task | undefined, error?: unknown) {
    super(projectId, step, taskId, task, error, "TASK_ATTEMPTS_EXHAUSTED");
  }
}

export class TaskNotFoundError extends SnaplakeError {
  constructor(projectId: string, step: string, taskId: string) {
    super(
      "TASK_NOT_FOUND",
      `Task ${taskId} of step ${step} (project ${projectId}) is not in the tracker: was the step planned for this project?`,
    );
  }
}

// --- config and runtime, kept across warm invocations ----------------------------------------------------

interface LoadedProject {
  project: Project;
  runtime: Runtime;
}

/** Keyed by where the config came from (URI, or a hash of the env text), so a changed config reloads. */
const loaded = new Map<string, Promise<LoadedProject>>();
let bootstrapStorage: Storage | undefined;
let logger: Logger | undefined;

function lambdaLogger(): Logger {
  logger ??= createLogger({ name: "snaplake-lambda" });
  return logger;
}

interface ConfigSource {
  key: string;
  describe: string;
  read: () => Promise<unknown>;
}

function uriSource(uri: string, describe: string): ConfigSource {
  return {
    key: `uri:${uri}`,
    describe,
    read: async () => {
      // Before the config is known, S3 settings come from the environment (AWS_REGION, AWS_ENDPOINT_URL_S3).
      bootstrapStorage ??= createStorage();
      const bytes = await bootstrapStorage.get(uri);
      return parseJsonText(bytes.toString("utf8"), describe);
    },
  };
}

/** Where this invocation's config comes from: the event's `configUri`, else one of the two variables. */
function configSource(configUri: string | undefined): ConfigSource {
  if (configUri) return uriSource(configUri, `config ${configUri}`);
  const uri = process.env[CONFIG_URI_ENV];
  const text = process.env[CONFIG_ENV];
  if (uri && text) {
    throw new ConfigError("Lambda environment", [
      `${CONFIG_ENV} and ${CONFIG_URI_ENV}: set only one of them`,
    ]);
  }
  if (uri) return uriSource(uri, `${CONFIG_URI_ENV} (${uri})`);
  if (text) {
    return {
      key: `env:${sha256Hex(text)}`,
      describe: CONFIG_ENV,
      read: async () => parseJsonText(text, CONFIG_ENV),
    };
  }
  throw new ConfigError("Lambda environment", [
    `${CONFIG_ENV} or ${CONFIG_URI_ENV}: set one (the project config as JSON text, or its s3:// URI)`,
  ]);
}

async function loadProject(source: ConfigSource): Promise<LoadedProject> {
  const definition: ConfiguredProjectDefinition = parseConfiguredProject(
    await source.read(),
    source.describe,
  );
  assertRunsOnStepFunctions(definition.config, source.describe);
  const runtime = await openRuntime(definition.config, { logger: lambdaLogger() });
  return { project: createConfiguredProject(definition, runtime), runtime };
}

/** The project for this invocation: built once per config and reused while the container stays warm. */
function projectFor(configUri: string | undefined): Promise<LoadedProject> {
  const source = configSource(configUri);
  let entry = loaded.get(source.key);
  if (!entry) {
    entry = loadProject(source);
    loaded.set(source.key, entry);
    // A failed load (bad config, S3 hiccup) is retried by the next invocation, not cached.
    entry.catch(() => loaded.delete(source.key));
  }
  return entry;
}

/** How many configs have a warm project and runtime in this container. */
export function cachedProjectCount(): number {
  return loaded.size;
}

/** Closes every cached runtime (DynamoDB clients); for tests and graceful shutdown. */
export async function closeLambdaRuntimes(): Promise<void> {
  const entries = [...loaded.values()];
  loaded.clear();
  bootstrapStorage = undefined;
  await Promise.all(
    entries.map(async (entry) => {
      const { runtime } = await entry.catch(() => ({ runtime: undefined }));
      await runtime?.close();
    }),
  );
}

// --- the actions -----------------------------------------------------------------------------------------

async function runStep(project: Project, step: SingleTaskStep): Promise<StepActionResult> {
  const definition = stepDefinition(step);
  const output = await definition.run(project);
  return {
    action: "step",
    projectId: project.projectId,
    step,
    outcome: "succeeded",
    summary: definition.summarize(output),
  };
}

async function runTodo(project: Project, step: GroupStep): Promise<TodoActionResult> {
  const { uri, count } = await project.writeTodoList(step);
  const location = parseUri(uri);
  // Staging is in S3: assertRunsOnStepFunctions checked it when the project was loaded.
  if (location.scheme !== "s3") throw new Error(`todo list ${uri} is not in S3`);
  const folder = parentFolder(location.key);
  return {
    action: "todo",
    projectId: project.projectId,
    step,
    bucket: location.bucket,
    key: location.key,
    uri,
    count,
    resultsPrefix: `${folder}map-results/${step}`,
  };
}

async function runGroupTask(project: Project, step: GroupStep, taskId: string): Promise<TaskActionResult> {
  const { projectId } = project;
  const result = await project.processTask(step, taskId);
  const base = { action: "task" as const, projectId, step, taskId };
  switch (result.outcome) {
    case "succeeded":
      return { ...base, outcome: "succeeded", status: "succeeded" };
    case "failed": {
      const { task, error } = result;
      if (task.status === "ignored")
        throw new TaskAttemptsExhaustedError(projectId, step, taskId, task, error);
      throw new TaskFailedError(projectId, step, taskId, task, error);
    }
    case "not_claimable": {
      const { task } = result;
      if (!task) throw new TaskNotFoundError(projectId, step, taskId);
      if (task.status === "ignored") throw new TaskAttemptsExhaustedError(projectId, step, taskId, task);
      return { ...base, outcome: "not_claimable", status: task.status };
    }
    case "lease_lost":
      return { ...base, outcome: "lease_lost", status: result.task?.status };
    default:
      throw new SnaplakeError("UNEXPECTED_OUTCOME", `Task ${taskId} of step ${step}: unexpected outcome`);
  }
}

/** Parses the event; errors name each field at fault (never its value). */
export function parseLambdaEvent(event: unknown): LambdaEvent {
  const parsed = lambdaEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidEventError(formatZodIssues(parsed.error.issues));
  return parsed.data;
}

/** The Lambda entry point. */
export async function handler(event: unknown, context?: { awsRequestId?: string }): Promise<LambdaResult> {
  const request = parseLambdaEvent(event);
  const { project } = await projectFor(request.configUri);
  if (request.projectId !== undefined && request.projectId !== project.projectId) {
    throw new InvalidEventError([
      `projectId: the event is for project ${request.projectId}, but this function's config is project ${project.projectId}`,
    ]);
  }
  const log = lambdaLogger().child({
    projectId: project.projectId,
    action: request.action,
    step: request.step as StepId,
    ...(request.action === "task" ? { taskId: request.taskId } : {}),
    ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
  });
  const started = Date.now();
  try {
    const result =
      request.action === "step"
        ? await runStep(project, request.step)
        : request.action === "todo"
          ? await runTodo(project, request.step)
          : await runGroupTask(project, request.step, request.taskId);
    log.info({ ms: Date.now() - started, outcome: "outcome" in result ? result.outcome : "written" }, "done");
    return result;
  } catch (error) {
    log.error({ ms: Date.now() - started, err: error }, "failed");
    throw error;
  }
}
