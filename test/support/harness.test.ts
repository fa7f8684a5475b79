import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createTestBucket, dynamoBackends, testDynamoClient, testS3Client } from "./clients.js";

describe("test harness", () => {
  it("serves S3 from s3rver", async () => {
    const s3 = testS3Client();
    const bucket = await createTestBucket(s3);
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name)).toContain(bucket);
  });

  it.each(dynamoBackends())("serves DynamoDB from $name", async ({ endpoint }) => {
    const client = testDynamoClient(endpoint);
    const out = await client.send(new ListTablesCommand({}));
    expect(Array.isArray(out.TableNames)).toBe(true);
  });
});
