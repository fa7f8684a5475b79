/** Iceberg on s3rver: the filesystem catalog's versions created once through the DynamoDB commit table. */
import type { S3Client } from "@aws-sdk/client-s3";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import { createDeltaLogTable, DynamoDbLogStore } from "../../../src/table/delta/index.js";
import {
  commitToIcebergTable,
  FileSystemCatalog,
  ICEBERG_METADATA_LAYOUT,
  IcebergInputError,
  openIcebergTable,
  parseTableMetadata,
} from "../../../src/table/iceberg/index.js";
import {
  createTestBucket,
  dynamoBackends,
  testDynamoClient,
  testS3Client,
  uniqueName,
} from "../../support/clients.js";

let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await createTestBucket(s3, "iceberg");
});
afterAll(() => s3.destroy());

async function putOrders(storage: Storage, uri: string, rows: number, first: number): Promise<string> {
  const frame = pl.DataFrame({
    id: pl.Series(
      "id",
      Array.from({ length: rows }, (_, i) => first + i),
      pl.Int64,
    ),
  });
  await storage.put(uri, frame.writeParquet());
  return uri;
}

describe.each(dynamoBackends())("Iceberg on s3rver + $name", (backend) => {
  it("concurrent appends through separate clients all land; a re-run adds no snapshot", async () => {
    const dynamo = testDynamoClient(backend.endpoint);
    const commitTable = uniqueName("iceberg-commits");
    await createDeltaLogTable(dynamo, commitTable);
    const tableUri = `s3://${bucket}/${uniqueName("events")}`;
    const storage = createStorage({ s3 });
    const files = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        putOrders(storage, `${tableUri}/day=2024-06-0${(i % 2) + 1}/part-${i}.parquet`, 3 + i, i * 100),
      ),
    );
    const catalogFor = (writerStorage: Storage) =>
      new FileSystemCatalog(
        writerStorage,
        tableUri,
        new DynamoDbLogStore({
          storage: writerStorage,
          client: testDynamoClient(backend.endpoint),
          tableName: commitTable,
          layout: ICEBERG_METADATA_LAYOUT,
        }),
      );
    const commit = (projectId: string, file: string, writerStorage: Storage) =>
      commitToIcebergTable({
        storage: writerStorage,
        catalog: catalogFor(writerStorage),
        projectId,
        mode: "append",
        files: [file],
        partitionColumns: ["day"],
        partitionTypes: { day: "date" },
      });

    const results = await Promise.all(
      files.map((file, i) => {
        const client = testS3Client();
        return commit(`batch-${i}`, file, createStorage({ s3: client })).finally(() => client.destroy());
      }),
    );
    expect(results.every((r) => r.committed)).toBe(true);
    expect(results.map((r) => r.sequenceNumber).sort()).toEqual([1, 2, 3, 4]);

    const again = await commit("batch-2", files[2]!, storage);
    expect(again).toMatchObject({ committed: false, snapshotId: results[2]!.snapshotId });

    const table = await openIcebergTable(storage, catalogFor(storage));
    expect(table.files.map((f) => f.rows).sort()).toEqual([3, 4, 5, 6]);
    expect(
      table
        .history()
        .map((h) => h.projectId)
        .sort(),
    ).toEqual(["batch-0", "batch-1", "batch-2", "batch-3"]);
    // Versions 1..4, each one written once, each a parent of the next; the hint names the latest.
    const v4 = parseTableMetadata(
      (await storage.get(`${tableUri}/metadata/v4.metadata.json`)).toString(),
      "v4",
    );
    expect(v4["metadata-log"].map((e) => e["metadata-file"])).toEqual(
      [1, 2, 3].map((v) => `${tableUri}/metadata/v${v}.metadata.json`),
    );
    expect((await storage.get(`${tableUri}/metadata/version-hint.text`)).toString()).toBe("4");
  });

  it("refuses an S3 table without a commit store", () => {
    expect(() => new FileSystemCatalog(createStorage({ s3 }), `s3://${bucket}/t`)).toThrow(IcebergInputError);
  });
});
