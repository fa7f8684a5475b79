/**
 * A Delta commit whose writer died half-way through the S3DynamoDBLogStore protocol: its actions in the
 * temp file and its entry in the DynamoDB commit table (steps 2.1-2.2: the commit), never copied to
 * `_delta_log/N.json`. The next reader or writer must finish it.
 */
import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Storage } from "../../../src/storage/types.js";

export async function leaveUnfinishedCommit(input: {
  storage: Storage;
  dynamo: DynamoDBClient;
  logTable: string;
  tableUri: string;
  version: number;
  appId: string;
  /** The data file the commit adds, relative to the table, and its row count. */
  file: { path: string; rows: number };
}): Promise<void> {
  const { storage, tableUri, file } = input;
  const name = `${String(input.version).padStart(20, "0")}.json`;
  const actions = [
    { commitInfo: { timestamp: Date.now(), operation: "WRITE" } },
    { txn: { appId: input.appId, version: 1 } },
    {
      add: {
        path: file.path,
        partitionValues: {},
        size: (await storage.head(`${tableUri}/${file.path}`)).size,
        modificationTime: Date.now(),
        dataChange: true,
        stats: JSON.stringify({ numRecords: file.rows }),
      },
    },
  ];
  const tempPath = `.tmp/${name}.dead`;
  await storage.put(
    `${tableUri}/_delta_log/${tempPath}`,
    actions.map((a) => `${JSON.stringify(a)}\n`).join(""),
  );
  await input.dynamo.send(
    new PutItemCommand({
      TableName: input.logTable,
      Item: {
        tablePath: { S: tableUri },
        fileName: { S: name },
        tempPath: { S: tempPath },
        complete: { S: "false" },
      },
    }),
  );
}
