/** Delta commits on s3rver through the S3DynamoDBLogStore protocol, on dynalite and DynamoDB Local. */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import {
  commitToDeltaTable,
  createDeltaLogTable,
  DeltaInputError,
  DynamoDbLogStore,
  openDeltaTable,
} from "../../../src/table/delta/index.js";
import {
  createTestBucket,
  dynamoBackends,
  testDynamoClient,
  testS3Client,
  uniqueName,
} from "../../support/clients.js";
import { leaveUnfinishedCommit } from "./unfinished-commit.js";

let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await createTestBucket(s3, "delta");
});
afterAll(() => s3.destroy());

async function putOrders(storage: Storage, uri: string, rows: number, first: number): Promise<string> {
  const frame = pl.DataFrame({
    id: pl.Series(
      "id",
      Array.from({ length: rows }, (_, i) => first + i),
      pl.Int64,
    ),
    note: pl.Series(
      "note",
      Array.from({ length: rows }, (_, i) => `n${i}`),
      pl.Utf8,
    ),
  });
  await storage.put(uri, frame.writeParquet());
  return uri;
}

describe.each(dynamoBackends())("Delta on s3rver + $name", (backend) => {
  it("concurrent appends through separate clients all land in consecutive versions; entries are complete", async () => {
    const dynamo = testDynamoClient(backend.endpoint);
    const logTable = uniqueName("delta-log");
    await createDeltaLogTable(dynamo, logTable);
    const tableUri = `s3://${bucket}/${uniqueName("events")}`;
    const storage = createStorage({ s3 });
    const files = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        putOrders(storage, `${tableUri}/day=2024-06-0${(i % 2) + 1}/part-${i}.parquet`, 3 + i, i * 100),
      ),
    );

    const results = await Promise.all(
      files.map((file, i) => {
        const client = testS3Client();
        const writerStorage = createStorage({ s3: client });
        const logStore = new DynamoDbLogStore({
          storage: writerStorage,
          client: testDynamoClient(backend.endpoint),
          tableName: logTable,
        });
        return commitToDeltaTable({
          storage: writerStorage,
          tableUri,
          projectId: `batch-${i}`,
          mode: "append",
          files: [file],
          partitionColumns: ["day"],
          partitionTypes: { day: "date" },
          logStore,
        }).finally(() => client.destroy());
      }),
    );
    expect(results.map((r) => r.version).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const logStore = new DynamoDbLogStore({ storage, client: dynamo, tableName: logTable });
    const opened = await openDeltaTable(storage, tableUri, { logStore });
    expect(opened.version).toBe(5);
    expect(opened.files.map((f) => f.rows).sort()).toEqual([3, 4, 5, 6, 7, 8]);
    expect((await opened.history()).map((h) => h.projectId).sort()).toEqual(
      files.map((_, i) => `batch-${i}`),
    );
    for (let v = 0; v <= 5; v++) {
      const item = await dynamo.send(
        new GetItemCommand({
          TableName: logTable,
          Key: { tablePath: { S: tableUri }, fileName: { S: `${String(v).padStart(20, "0")}.json` } },
        }),
      );
      expect(item.Item?.complete?.S).toBe("true");
      expect(Number(item.Item?.expireTime?.N)).toBeGreaterThan(Date.now() / 1000);
      expect(item.Item?.tempPath?.S).toMatch(/^\.tmp\/\d{20}\.json\./);
    }
    dynamo.destroy();
  });

  it("a commit whose writer died after its DynamoDB entry is finished by the next reader and kept", async () => {
    const dynamo = testDynamoClient(backend.endpoint);
    const logTable = uniqueName("delta-log");
    await createDeltaLogTable(dynamo, logTable);
    const tableUri = `s3://${bucket}/${uniqueName("orders")}`;
    const storage = createStorage({ s3 });
    const logStore = new DynamoDbLogStore({ storage, client: dynamo, tableName: logTable });
    const first = await putOrders(storage, `${tableUri}/part-0.parquet`, 2, 0);
    await commitToDeltaTable({
      storage,
      tableUri,
      projectId: "p0",
      mode: "append",
      files: [first],
      partitionColumns: [],
      logStore,
    });

    // Another writer prepared version 1 (temp file + incomplete entry, steps 2.1-2.2) and died before the copy.
    const orphanCommit = await putOrders(storage, `${tableUri}/part-1.parquet`, 5, 10);
    await leaveUnfinishedCommit({
      storage,
      dynamo,
      logTable,
      tableUri,
      version: 1,
      appId: "dead-writer",
      file: { path: "part-1.parquet", rows: 5 },
    });
    expect(await storage.exists(`${tableUri}/_delta_log/00000000000000000001.json`)).toBe(false);

    const opened = await openDeltaTable(storage, tableUri, { logStore });
    expect(opened.version).toBe(1);
    expect(opened.files.map((f) => f.rows).sort()).toEqual([2, 5]);
    expect(await storage.exists(`${tableUri}/_delta_log/00000000000000000001.json`)).toBe(true);

    // The next writer commits version 2, and the dead writer's re-run finds its commit.
    const next = await putOrders(storage, `${tableUri}/part-2.parquet`, 1, 20);
    expect(
      (
        await commitToDeltaTable({
          storage,
          tableUri,
          projectId: "p2",
          mode: "append",
          files: [next],
          partitionColumns: [],
          logStore,
        })
      ).version,
    ).toBe(2);
    const rerun = await commitToDeltaTable({
      storage,
      tableUri,
      projectId: "dead-writer",
      mode: "append",
      files: [orphanCommit],
      partitionColumns: [],
      logStore,
    });
    expect(rerun).toMatchObject({ version: 1, committed: false });
    dynamo.destroy();
  });
});

it("an S3 table without a log store is refused: plain PUTs could overwrite a commit", async () => {
  const storage = createStorage({ s3 });
  const tableUri = `s3://${bucket}/${uniqueName("unsafe")}`;
  const file = await putOrders(storage, `${tableUri}/part-0.parquet`, 1, 0);
  const error = await commitToDeltaTable({
    storage,
    tableUri,
    projectId: "p",
    mode: "append",
    files: [file],
    partitionColumns: [],
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeltaInputError);
  expect((error as Error).message).toContain("DynamoDbLogStore");
  expect(await storage.exists(`${tableUri}/_delta_log/00000000000000000000.json`)).toBe(false);
});
