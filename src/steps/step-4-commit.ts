/**
 * Step 4: the run's lake files become part of the table, once per project, after validation has passed.
 * The files are the ones the succeeded step-2.3 tasks wrote; partition values come from their Hive folders.
 * Hive lakes need nothing more; a Delta table gets one idempotent commit whose `txn` appId is the projectId.
 */
import { SnaplakeError } from "../errors.js";
import type { LakeSchema } from "../models/manifests.js";
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
  /** Step 2.1's lake schema; partition keys it has no type for (older projects) are strings. */
  lakeSchema?: LakeSchema;
}): Promise<LakeCommitResult> {
  const { tracker, projectId, table, partitionKeys } = input;
  const tasks = await tracker.list(projectId, Step.compact);
  const unfinished = tasks.filter((t) => t.status !== "succeeded").map((t) => t.taskId);
  if (unfinished.length > 0) throw new RunIncompleteError(projectId, unfinished);
  const files = tasks.flatMap((t) => taskOutput(Step.compact, t).lakeFiles.map((f) => f.uri)).sort();
  const recorded = new Map(input.lakeSchema?.partitionColumns?.map((c) => [c.name, c.type]));
  // timestamp_ntz needs reader 3 / writer 7; a key takes it only when a data column needs it already.
  const ntz = input.lakeSchema?.columns.some((c) => /^Datetime\((ms|us|ns)\)$/.test(c.type)) ?? false;
  const partitionTypes = Object.fromEntries(
    partitionKeys.map((key) => {
      const type = recorded.get(key);
      return [key, type === undefined ? "string" : deltaPartitionType(type, { timestampNtz: ntz })];
    }),
  );
  return table.commit({ projectId, files, partitionColumns: partitionKeys, partitionTypes });
}

/**
 * The Delta type of a partition key from its type name (src/frames/column-types.ts). Types without a Delta
 * primitive that the lowest protocol versions allow stay strings: a time-zone-less datetime (unless the
 * table uses timestamp_ntz anyway), UInt64 (beyond long), times, nested types and all-null keys.
 */
export function deltaPartitionType(typeName: string, options: { timestampNtz: boolean }): DeltaPrimitiveType {
  const simple: Record<string, DeltaPrimitiveType> = {
    Int8: "byte",
    Int16: "short",
    Int32: "integer",
    Int64: "long",
    UInt8: "short",
    UInt16: "integer",
    UInt32: "long",
    Float32: "float",
    Float64: "double",
    Boolean: "boolean",
    Date: "date",
    String: "string",
  };
  if (simple[typeName]) return simple[typeName];
  if (/^Datetime\((ms|us|ns), tz\)$/.test(typeName)) return "timestamp";
  if (/^Datetime\((ms|us|ns)\)$/.test(typeName)) return options.timestampNtz ? "timestamp_ntz" : "string";
  const decimal = /^Decimal\((\d+), (\d+)\)$/.exec(typeName);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})` as DeltaPrimitiveType;
  return "string";
}
