/** Checks on keys and options, before anything is sent to DynamoDB. */
import { ConfigError } from "../errors.js";
import { InvalidTaskKeyError } from "./errors.js";

/** A sort key holds at most 1024 bytes. */
const MAX_TASK_ID_BYTES = 1024;
const MAX_KEY_PART_CHARS = 255;

/** Project ids and steps join into keys with "#", so they must not contain it. */
export function assertStepKey(projectId: string, step: string): void {
  for (const [name, value] of [
    ["project id", projectId],
    ["step", step],
  ] as const) {
    if (
      typeof value !== "string" ||
      value.length === 0 ||
      value.length > MAX_KEY_PART_CHARS ||
      value.includes("#")
    ) {
      throw new InvalidTaskKeyError(
        `The ${name} ${JSON.stringify(value)} is not valid: use 1-${MAX_KEY_PART_CHARS} characters without "#"`,
      );
    }
  }
}

export function assertTaskId(projectId: string, step: string, taskId: string): void {
  if (typeof taskId !== "string" || taskId.length === 0 || Buffer.byteLength(taskId) > MAX_TASK_ID_BYTES) {
    throw new InvalidTaskKeyError(
      `Task id ${JSON.stringify(taskId)} of step "${step}" in project "${projectId}" is not valid: use 1-${MAX_TASK_ID_BYTES} bytes`,
    );
  }
}

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError("DynamoTracker options", [`${name}: must be a positive number`]);
  }
  return value;
}

export function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError("DynamoTracker options", [`${name}: must be zero or a positive number`]);
  }
  return value;
}
