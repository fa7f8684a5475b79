/** The orders project used by the workflow tests, and a context builder for local folders or s3rver. */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pl from "nodejs-polars";
import { afterEach, inject } from "vitest";
import type { ProjectConfigInput } from "../../src/config.js";
import { Project } from "../../src/project.js";
import type { ReadContext } from "../../src/readers/types.js";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "./clients.js";
import { tempDir } from "./temp-dir.js";

export class OrdersProject extends Project {
  override async batchReadSnapshotDataFile(_group: unknown, context: ReadContext) {
    return context.readEach((bytes) => pl.readParquet(bytes));
  }
  override derivedColumns() {
    return [
      { name: "year", expr: pl.col("order_time").dt.strftime("%Y") },
      { name: "month", expr: pl.col("order_time").dt.strftime("%m") },
    ];
  }
}

/** A project whose snapshot is Parquet files read as they are, with no derived columns. */
export class ParquetProject extends Project {
  override async batchReadSnapshotDataFile(_group: unknown, context: ReadContext) {
    return context.readEach((bytes) => pl.readParquet(bytes));
  }
}

export type StorageKind = "local" | "s3";

export interface TestContext {
  storage: Storage;
  tracker: DynamoTracker;
  /** Root URI for this test's snapshot, staging and lake. */
  root: string;
  tableName: string;
  dynamoEndpoint: string;
}

export async function createTestContext(
  kind: StorageKind,
  options: { leaseMs?: number; maxAttempts?: number } = {},
): Promise<TestContext> {
  const dynamoEndpoint = inject("servers").dynalite;
  const tableName = uniqueName("tasks");
  const tracker = new DynamoTracker({
    client: testDynamoClient(dynamoEndpoint),
    tableName,
    leaseMs: options.leaseMs ?? 60_000,
    maxAttempts: options.maxAttempts ?? 3,
  });
  await tracker.createTable();
  if (kind === "local") {
    const root = tempDir("snaplake-project-");
    return {
      storage: createStorage({ localRoot: root }),
      tracker,
      root: `file://${root}/`,
      tableName,
      dynamoEndpoint,
    };
  }
  const s3 = testS3Client();
  const bucket = await createTestBucket(s3, "lake");
  return { storage: createStorage({ s3 }), tracker, root: `s3://${bucket}/`, tableName, dynamoEndpoint };
}

export function ordersConfig(
  context: TestContext,
  overrides: Partial<ProjectConfigInput> = {},
): ProjectConfigInput {
  return {
    projectId: uniqueName("orders"),
    snapshot: { uri: `${context.root}snapshot/` },
    stagingUri: `${context.root}staging/`,
    datalakeUri: `${context.root}lake/`,
    targetFileGroupSize: 400_000,
    partitionKeys: ["year", "month"],
    sortBy: ["order_time", "order_id"],
    targetParquetFileSize: 40_000,
    ...overrides,
  };
}

/** Every Parquet file of the lake, with its partition path and rows. */
export async function readLake(storage: Storage, lakeUri: string) {
  const files: Array<{ uri: string; partition: string; size: number; etag: string; frame: pl.DataFrame }> =
    [];
  for await (const object of storage.list(lakeUri)) {
    if (!object.uri.endsWith(".parquet")) continue;
    const key = object.uri.slice(lakeUri.length);
    files.push({
      uri: object.uri,
      partition: key.slice(0, key.lastIndexOf("/")),
      size: object.size,
      etag: object.etag,
      frame: pl.readParquet(await storage.get(object.uri)),
    });
  }
  return files;
}

/** Writes each frame as `snapshot/part-<i>.parquet` under the context's root. */
export async function writeParquetSnapshot(context: TestContext, frames: readonly pl.DataFrame[]) {
  for (const [index, frame] of frames.entries()) {
    await context.storage.put(
      `${context.root}snapshot/part-${index}.parquet`,
      frame.writeParquet({ compression: "zstd" }),
    );
  }
}

/** A ParquetProject over the context's snapshot, staging and lake folders. */
export function parquetProject(context: TestContext, overrides: Partial<ProjectConfigInput> = {}) {
  return new ParquetProject(
    {
      projectId: uniqueName("frames"),
      snapshot: { uri: `${context.root}snapshot/` },
      stagingUri: `${context.root}staging/`,
      datalakeUri: `${context.root}lake/`,
      ...overrides,
    },
    context,
  );
}

/**
 * Creates test contexts that are removed after each test of the calling file: call it once at the top of a
 * test file, then `await context()` (local) or `await context("s3")` inside a test.
 */
export function testContexts(): (
  kind?: StorageKind,
  options?: Parameters<typeof createTestContext>[1],
) => Promise<TestContext> {
  const contexts: TestContext[] = [];
  afterEach(() => {
    for (const context of contexts.splice(0)) removeTestRoot(context);
  });
  return async (kind = "local", options = {}) => {
    const context = await createTestContext(kind, options);
    contexts.push(context);
    return context;
  };
}

/** Removes a local test context's folder (s3rver buckets go with the server). */
export function removeTestRoot(context: TestContext): void {
  if (context.root.startsWith("file://"))
    rmSync(fileURLToPath(context.root), { recursive: true, force: true });
}
