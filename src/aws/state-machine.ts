/**
 * The AWS Step Functions state machine (Amazon States Language, JSONPath) that runs a project's workflow
 * on the Lambda worker in lambda.ts:
 *
 *   Manifest → PlanSnapshotToStaging → ListSnapshotGroupsTodo → ProcessSnapshotGroups (Distributed Map)
 *   → PlanStagingToDatalake (refuses until every step-1.3 task succeeded) → ListPartitionGroupsTodo
 *   → ProcessPartitionGroups (Distributed Map) → Validate → Commit
 *
 * Each Map reads the todo list the previous state wrote (`[{projectId, step, taskId}, ...]` in S3) with
 * an ItemReader and runs one child execution per task. Every Lambda state retries what is worth retrying
 * (Lambda service errors, a worker that died, a task attempt that failed while the tracker allows more)
 * and catches everything else into one Fail state carrying the error. States keep only small summaries;
 * Map results go to S3 (ResultWriter), so no output nears the 256 KiB limit.
 */
import { z } from "zod";
import type { ProjectConfig } from "../config.js";
import { ConfigError, formatZodIssues, nonRetryableErrorClasses } from "../errors.js";
import {
  type GroupStep,
  type SingleTaskStep,
  STEP_CATALOGUE,
  type StepDefinition,
} from "../steps/catalogue.js";
import { parseUri } from "../storage/uri.js";

// --- the subset of the States Language this builds -------------------------------------------------------

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

export interface AslCatcher {
  ErrorEquals: string[];
  ResultPath?: string | null;
  Next: string;
}

interface AslFlow {
  Comment?: string;
  Next?: string;
  End?: boolean;
}

export interface AslTaskState extends AslFlow {
  Type: "Task";
  Resource: string;
  Parameters: Record<string, unknown>;
  ResultSelector?: Record<string, string>;
  ResultPath?: string | null;
  OutputPath?: string;
  TimeoutSeconds?: number;
  Retry: AslRetrier[];
  Catch: AslCatcher[];
}

export interface AslMapState extends AslFlow {
  Type: "Map";
  Label?: string;
  ItemReader: {
    Resource: "arn:aws:states:::s3:getObject";
    ReaderConfig: { InputType: "JSON" };
    Parameters: Record<string, string>;
  };
  ItemSelector: Record<string, unknown>;
  ItemProcessor: {
    ProcessorConfig: { Mode: "DISTRIBUTED"; ExecutionType: "STANDARD" | "EXPRESS" };
    StartAt: string;
    States: Record<string, AslState>;
  };
  MaxConcurrency: number;
  ToleratedFailurePercentage: number;
  ResultWriter: { Resource: "arn:aws:states:::s3:putObject"; Parameters: Record<string, string> };
  ResultPath?: string | null;
  Retry: AslRetrier[];
  Catch: AslCatcher[];
}

export interface AslFailState {
  Type: "Fail";
  Comment?: string;
  Error?: string;
  Cause?: string;
  ErrorPath?: string;
  CausePath?: string;
}

export interface AslSucceedState {
  Type: "Succeed";
  Comment?: string;
}

export type AslState = AslTaskState | AslMapState | AslFailState | AslSucceedState;

export interface AslDefinition {
  Comment: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

// --- options ---------------------------------------------------------------------------------------------

const optionsSchema = z
  .object({
    /** The snaplake Lambda (function ARN, optionally with a version or alias). */
    lambdaArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/, {
        message: "not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)",
      }),
    /** Sent in every payload; the Lambda refuses events for another project. */
    projectId: z.string().min(1),
    /** The staging bucket, written literally into the Maps (else read from the todo output at run time). */
    todoBucket: z.string().min(3).optional(),
    /** Passed to the Lambda in every payload, overriding its SNAPLAKE_CONFIG / SNAPLAKE_CONFIG_URI. */
    configUri: z.string().min(1).optional(),
    /** Child executions (Lambda invocations) at a time per Map. */
    maxConcurrency: z.number().int().min(1).max(10_000).default(50),
    /** Share of failed items a Map tolerates; 0: any task failing for good fails the execution. */
    toleratedFailurePercentage: z.number().min(0).max(100).default(0),
    /** The tracker's lease (config tracker.leaseSeconds): a dead worker's task is free again after it. */
    leaseSeconds: z.number().positive().default(300),
    /** Invocation retries after a task attempt failed (the tracker's maxAttempts bounds them too). */
    taskRetries: z.number().int().min(0).max(10).default(2),
    /** Waits for step 1.3 tasks other workers still hold before planning step 2. */
    barrierRetries: z.number().int().min(0).max(10).default(3),
    barrierIntervalSeconds: z.number().int().positive().default(60),
    /** TimeoutSeconds of each Lambda state; the Lambda's own timeout applies when unset. */
    taskTimeoutSeconds: z.number().int().positive().optional(),
    /** Child executions of the Maps: STANDARD allows tasks up to Lambda's 15 minutes. */
    childExecutionType: z.enum(["STANDARD", "EXPRESS"]).default("STANDARD"),
    comment: z.string().optional(),
  })
  .strict();

export type StateMachineOptions = z.input<typeof optionsSchema>;

// --- errors the Lambda throws, by retry policy -----------------------------------------------------------

/**
 * Retrying can't fix these (a bad config or event, bad data, a failed validation, a task out of attempts):
 * every class the error catalogue lists as not retryable (src/errors.ts).
 */
export const NON_RETRYABLE_ERRORS = nonRetryableErrorClasses();
/** Throttling and transient faults of the Lambda service (AWS's recommended retrier). */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "Lambda.ClientExecutionTimeoutException",
];
/** The worker died (timeout, out of memory, crash): its task's lease must expire before a retry can claim it. */
export const WORKER_LOST_ERRORS = [
  "Lambda.Unknown",
  "Sandbox.Timedout",
  "Runtime.ExitError",
  "States.Timeout",
];

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
const FAILED_STATE = "WorkflowFailed";

type Options = z.output<typeof optionsSchema>;

function retriers(options: Options, extra: AslRetrier[]): AslRetrier[] {
  return [
    { ErrorEquals: NON_RETRYABLE_ERRORS, MaxAttempts: 0 },
    {
      ErrorEquals: LAMBDA_SERVICE_ERRORS,
      IntervalSeconds: 2,
      MaxAttempts: 6,
      BackoffRate: 2,
      JitterStrategy: "FULL",
    },
    // One retry, once the dead worker's lease has run out (plus a margin for clock skew).
    {
      ErrorEquals: WORKER_LOST_ERRORS,
      IntervalSeconds: Math.ceil(options.leaseSeconds) + 15,
      MaxAttempts: 1,
    },
    ...extra,
    {
      ErrorEquals: ["States.TaskFailed"],
      IntervalSeconds: 5,
      MaxAttempts: 2,
      BackoffRate: 2,
      JitterStrategy: "FULL",
    },
  ];
}

function payloadBase(options: Options): Record<string, unknown> {
  return { projectId: options.projectId, ...(options.configUri ? { configUri: options.configUri } : {}) };
}

/** An invocation of the snaplake Lambda with `payload` ("state input": the state's input as it is). */
function lambdaTask(
  options: Options,
  payload: Record<string, unknown> | "state input",
  shape: {
    resultSelector: Record<string, string>;
    resultPath?: string;
    next?: string;
    extraRetry?: AslRetrier[];
    /** Where an error ends up (default: the workflow's Fail state). */
    failed?: string;
  },
): AslTaskState {
  return {
    Type: "Task",
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: options.lambdaArn,
      ...(payload === "state input" ? { "Payload.$": "$" } : { Payload: payload }),
    },
    ResultSelector: shape.resultSelector,
    ...(shape.resultPath ? { ResultPath: shape.resultPath } : {}),
    ...(options.taskTimeoutSeconds ? { TimeoutSeconds: options.taskTimeoutSeconds } : {}),
    Retry: retriers(options, shape.extraRetry ?? []),
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: shape.failed ?? FAILED_STATE }],
    ...(shape.next ? { Next: shape.next } : { End: true }),
  };
}

function stepState(
  options: Options,
  step: SingleTaskStep,
  resultPath: string,
  next?: string,
  extraRetry?: AslRetrier[],
) {
  return lambdaTask(
    options,
    { action: "step", step, ...payloadBase(options) },
    {
      resultSelector: { "outcome.$": "$.Payload.outcome", "summary.$": "$.Payload.summary" },
      resultPath,
      ...(next ? { next } : {}),
      ...(extraRetry ? { extraRetry } : {}),
    },
  );
}

function todoState(options: Options, step: GroupStep, resultPath: string, next: string): AslTaskState {
  return lambdaTask(
    options,
    { action: "todo", step, ...payloadBase(options) },
    {
      resultSelector: {
        "bucket.$": "$.Payload.bucket",
        "key.$": "$.Payload.key",
        "uri.$": "$.Payload.uri",
        "count.$": "$.Payload.count",
        "resultsPrefix.$": "$.Payload.resultsPrefix",
      },
      resultPath,
      next,
    },
  );
}

/**
 * The Distributed Map over one todo list: each child execution invokes the Lambda for one task.
 * `item` and `itemFailed` name the child's two states: state names must be unique across the whole
 * state machine, the Maps' item processors included.
 */
function mapState(
  options: Options,
  names: { name: string; item: string; itemFailed: string },
  todoPath: string,
  resultPath: string,
  next: string | undefined,
): AslMapState {
  const bucket: Record<string, string> = options.todoBucket
    ? { Bucket: options.todoBucket }
    : { "Bucket.$": `${todoPath}.bucket` };
  const { item, itemFailed } = names;
  const itemRetry: AslRetrier = {
    ErrorEquals: ["TaskFailedError"],
    IntervalSeconds: 10,
    MaxAttempts: options.taskRetries,
    BackoffRate: 2,
    JitterStrategy: "FULL",
  };
  return {
    Type: "Map",
    Label: names.name,
    ItemReader: {
      Resource: "arn:aws:states:::s3:getObject",
      ReaderConfig: { InputType: "JSON" },
      Parameters: { ...bucket, "Key.$": `${todoPath}.key` },
    },
    ItemSelector: {
      action: "task",
      ...(options.configUri ? { configUri: options.configUri } : {}),
      "projectId.$": "$$.Map.Item.Value.projectId",
      "step.$": "$$.Map.Item.Value.step",
      "taskId.$": "$$.Map.Item.Value.taskId",
    },
    ItemProcessor: {
      ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: options.childExecutionType },
      StartAt: item,
      States: {
        // The child fails with the task's error, so the Map counts it against the tolerated share.
        [item]: lambdaTask(options, "state input", {
          resultSelector: { "taskId.$": "$.Payload.taskId", "outcome.$": "$.Payload.outcome" },
          extraRetry: [itemRetry],
          failed: itemFailed,
        }),
        [itemFailed]: { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" },
      },
    },
    MaxConcurrency: options.maxConcurrency,
    ToleratedFailurePercentage: options.toleratedFailurePercentage,
    ResultWriter: {
      Resource: "arn:aws:states:::s3:putObject",
      Parameters: { ...bucket, "Prefix.$": `${todoPath}.resultsPrefix` },
    },
    ResultPath: resultPath,
    // Reading the list or writing results can hit S3 hiccups; re-running a Map skips finished tasks.
    Retry: [
      {
        ErrorEquals: ["States.ItemReaderFailed", "States.ResultWriterFailed"],
        IntervalSeconds: 5,
        MaxAttempts: 2,
        BackoffRate: 2,
      },
    ],
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: FAILED_STATE }],
    ...(next ? { Next: next } : { End: true }),
  };
}

/** The name of a step's first state: a single-task step's own, a group step's todo state. */
function firstStateOf(step: StepDefinition): string {
  return step.kind === "group" ? step.state.todo.name : step.state.name;
}

/** The states of every step in the catalogue, in its order, each leading to the next step's first. */
function catalogueStates(options: Options, barrierRetry: AslRetrier): Record<string, AslState> {
  const steps: readonly StepDefinition[] = STEP_CATALOGUE;
  const states: Record<string, AslState> = {};
  steps.forEach((step, index) => {
    const following = steps[index + 1];
    const next = following ? firstStateOf(following) : undefined;
    if (step.kind === "group") {
      const { todo, map } = step.state;
      states[todo.name] = todoState(options, step.id as GroupStep, todo.resultPath, map.name);
      states[map.name] = mapState(options, map, todo.resultPath, map.resultPath, next);
    } else {
      const { name, resultPath, waitsForStage } = step.state;
      states[name] = stepState(
        options,
        step.id as SingleTaskStep,
        resultPath,
        next,
        waitsForStage ? [barrierRetry] : undefined,
      );
    }
  });
  return states;
}

/** The whole workflow for one project; throws `ConfigError` naming any bad option. */
export function buildStateMachine(input: StateMachineOptions): AslDefinition {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError("state machine options", formatZodIssues(parsed.error.issues));
  const options = parsed.data;
  const barrierRetry: AslRetrier = {
    ErrorEquals: ["StageBarrierError"],
    IntervalSeconds: options.barrierIntervalSeconds,
    MaxAttempts: options.barrierRetries,
    BackoffRate: 2,
  };
  return {
    Comment:
      options.comment ??
      `snaplake workflow for project ${options.projectId}: snapshot → staging → compacted lake, validated, committed`,
    StartAt: firstStateOf(STEP_CATALOGUE[0]),
    States: {
      ...catalogueStates(options, barrierRetry),
      [FAILED_STATE]: {
        Type: "Fail",
        Comment: "The error and cause of the state that failed",
        ErrorPath: "$.error.Error",
        CausePath: "$.error.Cause",
      },
    },
  };
}

/**
 * What running on Step Functions + Lambda needs from a config: a shared DynamoDB task table (the embedded
 * tracker serves one process) and staging in S3 (the Maps' ItemReader reads the todo lists from there).
 * Returns the staging bucket. Checked by the Lambda when it loads a project and by `sfn-definition`.
 */
export function assertRunsOnStepFunctions(config: ProjectConfig, source: string): { stagingBucket: string } {
  if (!config.tracker.tableName) {
    throw new ConfigError(source, [
      "tracker.tableName: required on Lambda and Step Functions (workers share the DynamoDB task table)",
    ]);
  }
  const staging = parseUri(config.stagingUri);
  if (staging.scheme !== "s3") {
    throw new ConfigError(source, [
      "stagingUri: must be an s3:// URI on Step Functions (the Maps' ItemReader reads the todo lists from S3)",
    ]);
  }
  return { stagingBucket: staging.bucket };
}
