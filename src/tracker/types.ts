/**
 * The task tracker's contract: every step of every project records its tasks in one DynamoDB table.
 * Steps and workers only talk to this interface; `DynamoTracker` (dynamo-tracker.ts) implements it.
 */

import type { LeaseLostError } from "./errors.js";
import { TASK_STATUSES, type TaskStatus } from "./status.js";

export { TASK_STATUSES, type TaskStatus } from "./status.js";

export type TaskData = Record<string, unknown>;

/** One recorded failure of one attempt. Bounded: the tracker keeps the most recent ones. */
export interface TaskErrorRecord {
  attempt: number;
  /** ISO-8601 UTC time of the failure. */
  at: string;
  name: string;
  message: string;
  /** The first lines of the stack, if any. */
  stack?: string;
  /** The typed error's `code`, when it has one. */
  code?: string;
}

export interface Task<I extends TaskData = TaskData, O extends TaskData = TaskData> {
  projectId: string;
  step: string;
  taskId: string;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  leaseToken?: string;
  /** Epoch milliseconds. */
  leaseExpiresAt?: number;
  /** `<pid>@<host>` of the process holding the lease (tasks claimed by older versions have none). */
  leaseOwner?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  input: I;
  /** Merged on every update, never replaced wholesale. */
  output: O;
  errors: TaskErrorRecord[];
}

export interface TaskSpec<I extends TaskData = TaskData> {
  taskId: string;
  input: I;
}

/** Proof of ownership of a claimed task; every write after the claim is conditional on `token`. */
export interface Lease<I extends TaskData = TaskData> {
  projectId: string;
  step: string;
  taskId: string;
  token: string;
  expiresAt: number;
  attempt: number;
  task: Task<I>;
}

export type StatusCounts = Record<TaskStatus, number>;

export interface BarrierResult {
  /** True when the step has at least one task and every task succeeded. */
  complete: boolean;
  total: number;
  counts: StatusCounts;
  /** Tasks that are not `succeeded`, with their status and last error. */
  missing: Task[];
}

/** The barrier over a step's tasks (all of them, as one consistent read returned them). */
export function barrierOf(tasks: readonly Task[]): BarrierResult {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as StatusCounts;
  for (const task of tasks) counts[task.status] += 1;
  const missing = tasks.filter((task) => task.status !== "succeeded");
  return { complete: tasks.length > 0 && missing.length === 0, total: tasks.length, counts, missing };
}

export interface TaskContext<I extends TaskData = TaskData> {
  lease: Lease<I>;
  input: I;
  /** Aborted when the lease is lost (heartbeat failed); long work should stop early. */
  signal: AbortSignal;
}

export type RunTaskResult<O extends TaskData = TaskData> =
  | { outcome: "succeeded"; task: Task<TaskData, O> }
  | { outcome: "failed"; task: Task; error: unknown }
  | { outcome: "not_claimable"; task: Task | undefined }
  /** The lease was taken over while `fn` ran (or before its result was written): nothing was recorded. */
  | { outcome: "lease_lost"; task: Task | undefined; error: LeaseLostError };

export interface TaskTracker {
  /** On-demand table with the status index; idempotent; resolves once ACTIVE. */
  createTable(): Promise<void>;
  /** Idempotent: never duplicates a task nor resets an existing one. */
  createTasks(
    projectId: string,
    step: string,
    specs: readonly TaskSpec[],
    options?: { maxAttempts?: number },
  ): Promise<{ created: number; existing: number }>;
  get(projectId: string, step: string, taskId: string): Promise<Task | undefined>;
  /**
   * Every task of a step (every page). Without `statuses` the read is strongly consistent (the table
   * itself); with them it goes through the status index, which may lag a moment behind the last writes.
   */
  list(projectId: string, step: string, options?: { statuses?: readonly TaskStatus[] }): Promise<Task[]>;
  /**
   * Tasks a worker could claim now: pending, failed with attempts left, in_progress with an expired lease
   * (or, where the tracker knows its holders are local, held by a process that is gone).
   */
  todo(projectId: string, step: string): Promise<Task[]>;
  counts(projectId: string, step: string): Promise<StatusCounts>;
  /** Failed and ignored tasks with their error history. */
  failures(projectId: string, step: string): Promise<Task[]>;
  barrier(projectId: string, step: string): Promise<BarrierResult>;
  /** One conditional write; `undefined` when the task is not claimable now. */
  claim(projectId: string, step: string, taskId: string): Promise<Lease | undefined>;
  /** Extends the lease; throws `LeaseLostError` when another worker took the task over. */
  heartbeat(lease: Lease): Promise<Lease>;
  /** Conditional on still holding the lease (fencing); throws `LeaseLostError` otherwise. */
  complete(lease: Lease, output?: TaskData): Promise<Task>;
  /** Records the error; `ignored` once attempts are exhausted or the error is not retryable. Fenced like `complete`. */
  fail(lease: Lease, error: unknown, output?: TaskData): Promise<Task>;
  /** Brings failed/ignored tasks (or the given statuses) back to `pending` with fresh attempts. */
  reset(projectId: string, step: string, options?: { statuses?: readonly TaskStatus[] }): Promise<number>;
  /**
   * Deletes tasks of a step (all of them, or the ids given), whatever their status: for starting a step
   * over. Returns how many were deleted.
   */
  deleteTasks(projectId: string, step: string, taskIds?: readonly string[]): Promise<number>;
  /**
   * Claim, heartbeat while `fn` runs, then record its output or its error. Never throws `fn`'s error.
   * After a retryable error with attempts left, waits out the retry backoff (holding the lease) first.
   */
  runTask<O extends TaskData>(
    projectId: string,
    step: string,
    taskId: string,
    fn: (context: TaskContext) => Promise<O>,
  ): Promise<RunTaskResult<O>>;
}
