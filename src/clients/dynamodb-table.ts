/**
 * Creating a DynamoDB table the way every snaplake table is created (tracker, run manifests, event
 * manifest): CreateTable unless it exists, then wait until the table and its indexes can be used.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import { SnaplakeError } from "../errors.js";

export interface CreateTableAndWaitOptions {
  /** How long to wait for the table and every global secondary index to become ACTIVE. Default 300 s. */
  timeoutMs?: number;
}

/** The table (or one of its indexes) was still not ACTIVE when the wait ran out. */
export class TableNotReadyError extends SnaplakeError {
  readonly tableName: string;
  constructor(tableName: string, timeoutMs: number, state: string) {
    super(
      "DYNAMODB_TABLE_NOT_READY",
      `DynamoDB table "${tableName}" is not ACTIVE after ${timeoutMs} ms (${state}); ` +
        "check it in the console, then run the command again (creating it is idempotent)",
    );
    this.tableName = tableName;
  }
}

function describeState(table: TableDescription | undefined): string {
  const indexes = (table?.GlobalSecondaryIndexes ?? []).map((i) => `index ${i.IndexName} ${i.IndexStatus}`);
  return [`table ${table?.TableStatus ?? "missing"}`, ...indexes].join(", ");
}

/**
 * Creates the table unless it exists (or someone else is creating it), then waits until the table and all
 * its global secondary indexes are ACTIVE. Returns whether this call created it, and the table as
 * DescribeTable reports it, so callers can check that an existing table has the keys they need.
 */
export async function createTableAndWait(
  client: DynamoDBClient,
  input: CreateTableCommandInput,
  options: CreateTableAndWaitOptions = {},
): Promise<{ outcome: "created" | "existed"; table: TableDescription }> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  let outcome: "created" | "existed" = "created";
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    outcome = "existed";
  }
  const deadline = Date.now() + timeoutMs;
  // Short polls first (local servers are ready at once), then up to 5 s between DescribeTable calls.
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5_000)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
    if (Table?.TableStatus === "ACTIVE" && indexesActive) return { outcome, table: Table };
    if (Date.now() > deadline)
      throw new TableNotReadyError(String(input.TableName), timeoutMs, describeState(Table));
    await sleep(delayMs);
  }
}
