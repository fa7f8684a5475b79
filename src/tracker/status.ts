/** A task's status: its own module, so that the tracker's errors and its contract (types.ts) can both use it. */
/**
 * `failed`: the last attempt failed and the task will be tried again; `ignored`: failed for good (out of
 * attempts, or an error retrying can't fix) until someone resets it.
 */
export const TASK_STATUSES = ["pending", "in_progress", "failed", "succeeded", "ignored"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
