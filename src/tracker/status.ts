/** A task's status: its own module, so that the tracker's errors and its contract (types.ts) can both use it. */
export const TASK_STATUSES = ["pending", "in_progress", "failed", "succeeded", "ignored"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
