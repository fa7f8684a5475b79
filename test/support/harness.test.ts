import { join } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { runBuiltCli, snaplake } from "./cli.js";
import { createTestBucket, dynamoBackends, testDynamoClient, testS3Client } from "./clients.js";
import { tempDir } from "./temp-dir.js";

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

  it("runs a command in-process printing what the built binary prints, its log lines included", async () => {
    // A first status on a fresh project creates the embedded tracker's table: one JSON log line.
    const outputs = [];
    for (const inProcess of [true, false]) {
      const dir = tempDir("snaplake-harness-");
      const config = join(dir, "snaplake.config.jsonc");
      expect((await snaplake(["init", "--output", config])).code).toBe(0);
      const args = ["status", "--config", config, "--json"];
      const result = inProcess ? await snaplake(args) : await runBuiltCli(args, dir);
      const stderr = result.stderr
        .replaceAll(dir, "<dir>")
        .replace(/"time":\d+,"pid":\d+,"hostname":"[^"]*"/g, '"time":0,"pid":0,"hostname":"h"');
      outputs.push({ code: result.code, stdout: result.stdout.replaceAll(dir, "<dir>"), stderr });
    }
    expect(outputs[0]!.stderr).toContain('"msg":"created tracker table"');
    expect(outputs[0]).toEqual(outputs[1]);
  });
});
