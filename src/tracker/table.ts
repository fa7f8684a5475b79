/** Creates the tracker table (on-demand billing, status index) and waits until table and index are ACTIVE. */
import type { DynamoDBClient, TableDescription } from "@aws-sdk/client-dynamodb";
import { createTableAndWait } from "../clients/dynamodb-table.js";
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
  const { client, tableName, indexName, timeoutMs, logger } = options;
  const { partitionKey, sortKey, indexPartitionKey } = TABLE_KEYS;
  const { outcome, table } = await createTableAndWait(
    client,
    {
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
    },
    { timeoutMs },
  );
  if (outcome === "created") logger.info({ table: tableName }, "created tracker table");
  // A table that was already there may have been made for something else.
  if (!table.GlobalSecondaryIndexes?.some((gsi) => gsi.IndexName === indexName)) {
    throw new TrackerTableError(
      tableName,
      `exists but has no index "${indexName}"; pick another table name or the index name it was created with`,
    );
  }
  checkKeySchema(tableName, table);
}

function checkKeySchema(tableName: string, table: TableDescription): void {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  const expected = `${TABLE_KEYS.partitionKey}:HASH,${TABLE_KEYS.sortKey}:RANGE`;
  if (keys !== expected) {
    throw new TrackerTableError(tableName, `has key schema ${keys}, not the tracker's ${expected}`);
  }
}
