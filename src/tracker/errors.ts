/** Typed errors of the task tracker. Each message names the task (project/step/task id) or table at fault. */
import { SnaplakeError } from "../errors.js";
import type { TaskStatus } from "./status.js";

export function describeTask(projectId: string, step: string, taskId: string): string {
  return `task "${taskId}" of step "${step}" in project "${projectId}"`;
}

/**
 * The caller no longer holds the task's lease: it expired and another worker claimed the task, or the task
 * was reset or finished meanwhile. Nothing was written; the caller must drop its result.
 */
export class LeaseLostError extends SnaplakeError {
  readonly projectId: string;
  readonly step: string;
  readonly taskId: string;
  /** What the tracker holds now, when it could be read. */
  readonly currentStatus: TaskStatus | undefined;
  readonly currentAttempt: number | undefined;
  constructor(options: {
    projectId: string;
    step: string;
    taskId: string;
    operation: string;
    currentStatus?: TaskStatus;
    currentAttempt?: number;
  }) {
    const now =
      options.currentStatus === undefined
        ? "the task no longer exists"
        : `it is now ${options.currentStatus} (attempt ${options.currentAttempt ?? 0})`;
    super(
      "TASK_LEASE_LOST",
      `Lost the lease on ${describeTask(options.projectId, options.step, options.taskId)}: ${options.operation} was not recorded because ${now}. ` +
        "Another worker took it over after the lease expired, or it was reset; discard this attempt's result. " +
        "If tasks routinely outlive their lease, raise leaseMs or keep heartbeats running.",
    );
    this.projectId = options.projectId;
    this.step = options.step;
    this.taskId = options.taskId;
    this.currentStatus = options.currentStatus;
    this.currentAttempt = options.currentAttempt;
  }
}

/** A project id, step name, task id or task spec list is not usable as a tracker key. */
export class InvalidTaskKeyError extends SnaplakeError {
  constructor(message: string) {
    super("TASK_KEY_INVALID", message);
  }
}

/** A task's input and output together would not fit in one DynamoDB item (400 KB). */
export class TaskDataTooLargeError extends SnaplakeError {
  readonly bytes: number;
  readonly limit: number;
  constructor(options: {
    projectId: string;
    step: string;
    taskId: string;
    what: string;
    bytes: number;
    limit: number;
  }) {
    super(
      "TASK_DATA_TOO_LARGE",
      `The ${options.what} of ${describeTask(options.projectId, options.step, options.taskId)} is ${options.bytes} bytes as JSON, ` +
        `over the tracker's ${options.limit}-byte limit (a DynamoDB item holds at most 400 KB). ` +
        "Store large payloads in S3 or a file and keep only their URI in the task.",
    );
    this.bytes = options.bytes;
    this.limit = options.limit;
  }
}

/** The tracker table exists but is unusable, or did not become ACTIVE in time. */
export class TrackerTableError extends SnaplakeError {
  constructor(tableName: string, problem: string) {
    super("TRACKER_TABLE_INVALID", `DynamoDB table "${tableName}": ${problem}`);
  }
}
