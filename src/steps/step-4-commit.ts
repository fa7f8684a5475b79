/**
 * Step 4: the run's lake files become part of the table, once per project, after validation has passed.
 * The files are the ones the succeeded step-2.3 tasks wrote; partition values come from their Hive folders.
 * Hive lakes need nothing more; a Delta table gets one idempotent commit whose `txn` appId is the projectId.
 */
import { SnaplakeError } from "../errors.js";
import type { DeltaPrimitiveType } from "../table/delta/schema.js";
import type { LakeCommitResult, LakeTable } from "../table/types.js";
import type { TaskTracker } from "../tracker/types.js";
import { Step, taskOutput } from "./catalogue.js";

/** Step 4 was asked before every compaction task succeeded: committing would publish a partial run. */
export class RunIncompleteError extends SnaplakeError {
  constructor(projectId: string, unfinished: string[]) {
    super(
      "RUN_INCOMPLETE",
      `Project "${projectId}" cannot be committed: step ${Step.compact} tasks ${unfinished.slice(0, 5).join(", ")}` +
        `${unfinished.length > 5 ? ` and ${unfinished.length - 5} more` : ""} did not succeed. Finish them and validate (step 3) first.`,
    );
  }
}

export async function commitRun(input: {
  tracker: TaskTracker;
  projectId: string;
  table: LakeTable;
  partitionKeys: readonly string[];
  /** Partition columns not listed are strings (their values come from folder names). */
  partitionTypes?: Readonly<Record<string, DeltaPrimitiveType>>;
}): Promise<LakeCommitResult> {
  const { tracker, projectId, table, partitionKeys } = input;
  const tasks = await tracker.list(projectId, Step.compact);
  const unfinished = tasks.filter((t) => t.status !== "succeeded").map((t) => t.taskId);
  if (unfinished.length > 0) throw new RunIncompleteError(projectId, unfinished);
  const files = tasks.flatMap((t) => taskOutput(Step.compact, t).lakeFiles.map((f) => f.uri)).sort();
  const partitionTypes = Object.fromEntries(
    partitionKeys.map((key) => [key, input.partitionTypes?.[key] ?? ("string" as const)]),
  );
  return table.commit({ projectId, files, partitionColumns: partitionKeys, partitionTypes });
}
