/** Creates the tracker table (on-demand billing, status index) and waits until table and index are ACTIVE. */
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { Logger } from "../logging.js";
import { TrackerTableError } from "./errors.js";
import { TABLE_KEYS } from "./models.js";

export interface TableOptions {
  client: DynamoDBClient;
  tableName: string;
  indexName: string;
  timeoutMs: number;
  logger: Logger;
}

export async function createTrackerTable(options: TableOptions): Promise<void> {
  const { client, tableName, indexName, logger } = options;
  const { partitionKey, sortKey, indexPartitionKey } = TABLE_KEYS;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: "S" },
          { AttributeName: sortKey, AttributeType: "S" },
          { AttributeName: indexPartitionKey, AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" },
          { AttributeName: sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: indexName,
            KeySchema: [
              { AttributeName: indexPartitionKey, KeyType: "HASH" },
              { AttributeName: sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
    logger.info({ table: tableName }, "creating tracker table");
  } catch (error) {
    // Already there (or being created by someone else): fine, we still wait for it below.
    if ((error as { name?: string }).name !== "ResourceInUseException") throw error;
  }
  await waitUntilActive(options);
}

async function waitUntilActive(options: TableOptions): Promise<void> {
  const { client, tableName, indexName, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = Table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === indexName);
    if (Table?.TableStatus === "ACTIVE" && !index) {
      throw new TrackerTableError(
        tableName,
        `exists but has no index "${indexName}"; pick another table name or the index name it was created with`,
      );
    }
    if (Table?.TableStatus === "ACTIVE" && index?.IndexStatus === "ACTIVE") {
      checkKeySchema(tableName, Table);
      return;
    }
    if (Date.now() > deadline) {
      throw new TrackerTableError(
        tableName,
        `not ACTIVE after ${timeoutMs} ms (table ${Table?.TableStatus}, index ${index?.IndexStatus})`,
      );
    }
    await sleep(250);
  }
}

function checkKeySchema(tableName: string, table: NonNullable<DescribeTableCommandOutput["Table"]>): void {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  const expected = `${TABLE_KEYS.partitionKey}:HASH,${TABLE_KEYS.sortKey}:RANGE`;
  if (keys !== expected) {
    throw new TrackerTableError(tableName, `has key schema ${keys}, not the tracker's ${expected}`);
  }
}
