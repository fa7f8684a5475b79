/**
 * Steps 1.2 and 2.2: the groups still to do, read from the tracker (never by listing a folder, so stale
 * files can't sneak in). `writeTodoList` also stores the list as JSON for Step Functions' Distributed Map.
 */
import type { Locations } from "../models/locations.js";
import { writeJson } from "../models/manifests.js";
import type { Storage } from "../storage/types.js";
import type { Task, TaskTracker } from "../tracker/types.js";
import type { GroupStep } from "./catalogue.js";

export interface TodoItem {
  projectId: string;
  step: GroupStep;
  taskId: string;
}

export async function listTodo(input: {
  tracker: TaskTracker;
  projectId: string;
  step: GroupStep;
}): Promise<Task[]> {
  const tasks = await input.tracker.todo(input.projectId, input.step);
  return tasks.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
}

/** Writes `[{projectId, step, taskId}, ...]` (the Map's ItemReader format); returns where, and how many items. */
export async function writeTodoList(input: {
  storage: Storage;
  locations: Locations;
  projectId: string;
  step: GroupStep;
  tasks: readonly Task[];
}): Promise<{ uri: string; count: number }> {
  const uri = input.locations.todoList(input.step);
  const items: TodoItem[] = input.tasks.map((t) => ({
    projectId: input.projectId,
    step: input.step,
    taskId: t.taskId,
  }));
  await writeJson(input.storage, uri, items);
  return { uri, count: items.length };
}
