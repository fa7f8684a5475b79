/**
 * The status-tracking ORM models (dynamodb-toolbox v2): one Table, one Task entity shared by every
 * project and step. The step is part of the key, so each step's tasks form their own item collection.
 *
 * Layout
 * - base table: `pk = "<projectId>#<step>"`, `sk = <taskId>`: `get`, `list` and `barrier` read it
 *   (strongly consistent).
 * - status index (GSI, projection ALL): `stepStatus = "<projectId>#<step>#<status>"`, `sk = <taskId>`:
 *   `todo`, `counts`, `failures` and status-filtered `list` read it (eventually consistent).
 *
 * The index partition key is not sharded: its sort key is the task id, so DynamoDB can split a hot
 * index partition by key range, and a step sees at most a few hundred status writes per second (tasks
 * are seconds-long Parquet jobs). Sharding would multiply every status query by the shard count.
 *
 * projectId and step must not contain "#", so keys never collide (see `assertKeyPart`).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "dynamodb-toolbox/entity";
import { any } from "dynamodb-toolbox/schema/any";
import { item } from "dynamodb-toolbox/schema/item";
import { list } from "dynamodb-toolbox/schema/list";
import { map } from "dynamodb-toolbox/schema/map";
import { number } from "dynamodb-toolbox/schema/number";
import { record } from "dynamodb-toolbox/schema/record";
import { string } from "dynamodb-toolbox/schema/string";
import { Table } from "dynamodb-toolbox/table";
import { TASK_STATUSES, type TaskStatus } from "./types.js";

/** The TypeScript name of the status index; at run time toolbox uses the configured index name. */
type StatusIndex = "byStatus";

export const TABLE_KEYS = {
  partitionKey: "pk",
  sortKey: "sk",
  indexPartitionKey: "stepStatus",
} as const;

export function stepKey(projectId: string, step: string): string {
  return `${projectId}#${step}`;
}

export function stepStatusKey(projectId: string, step: string, status: TaskStatus): string {
  return `${projectId}#${step}#${status}`;
}

const errorRecordSchema = map({
  attempt: number(),
  at: string(),
  name: string(),
  message: string(),
  stack: string().optional(),
  code: string().optional(),
});

const taskSchema = item({
  projectId: string().key(),
  step: string().key(),
  taskId: string().key().savedAs(TABLE_KEYS.sortKey),
  status: string().enum(...TASK_STATUSES),
  stepStatus: string(),
  attempts: number(),
  maxAttempts: number(),
  leaseToken: string().optional(),
  leaseExpiresAt: number().optional(),
  /** `<pid>@<host>` of the lease holder (see lease-owner.ts). */
  leaseOwner: string().optional(),
  createdAt: string(),
  updatedAt: string(),
  startedAt: string().optional(),
  finishedAt: string().optional(),
  input: record(string(), any()),
  output: record(string(), any()),
  errors: list(errorRecordSchema),
  /** Internal: the status a claim found (copied by the claim itself); "in_progress" means a takeover. */
  claimedFrom: string()
    .enum(...TASK_STATUSES)
    .optional(),
});

export function createTrackerModels(options: {
  documentClient: DynamoDBDocumentClient;
  tableName: string;
  indexName: string;
}) {
  const table = new Table({
    documentClient: options.documentClient,
    name: options.tableName,
    partitionKey: { name: TABLE_KEYS.partitionKey, type: "string" },
    sortKey: { name: TABLE_KEYS.sortKey, type: "string" },
    indexes: {
      [options.indexName]: {
        type: "global",
        partitionKey: { name: TABLE_KEYS.indexPartitionKey, type: "string" },
        sortKey: { name: TABLE_KEYS.sortKey, type: "string" },
      },
    } as {
      byStatus: {
        type: "global";
        partitionKey: { name: "stepStatus"; type: "string" };
        sortKey: { name: "sk"; type: "string" };
      };
    },
  });
  const task = new Entity({
    name: "Task",
    table,
    schema: taskSchema,
    // We keep our own createdAt/updatedAt so one write uses one clock reading for every field.
    timestamps: false,
    computeKey: ({ projectId, step, taskId }) => ({ pk: stepKey(projectId, step), sk: taskId }),
  });
  // Queries name the index by its configured name; the cast only re-labels it for toolbox's types.
  const statusIndex = options.indexName as StatusIndex;
  return { table, task, statusIndex };
}

export type TrackerModels = ReturnType<typeof createTrackerModels>;
