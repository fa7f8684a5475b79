/** Tasks' recorded errors as the CLI shows them: message and code; stacks (install paths) only at debug level. */
import { debugEnabled } from "../log-level.js";
import type { Task, TaskErrorRecord } from "../tracker/types.js";

export function shownError(record: TaskErrorRecord | undefined): TaskErrorRecord | null {
  if (!record) return null;
  if (debugEnabled()) return record;
  const { stack: _, ...shown } = record;
  return shown;
}

export function withShownErrors(task: Task): Task {
  return { ...task, errors: task.errors.map((record) => shownError(record) ?? record) };
}
