/** An orders project on s3rver + dynalite, configured the way the Lambda reads it (JSON in the environment). */
import { inject } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { createTestContext, ordersConfig, type TestContext } from "../support/orders-project.js";

export const LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:snaplake-worker";

export interface LambdaProject {
  context: TestContext;
  /** The config file's object: project settings plus reader and derived columns. */
  config: Record<string, unknown>;
  projectId: string;
  snapshot: Awaited<ReturnType<typeof writeOrdersSnapshot>>;
}

export async function lambdaProject(
  options: { rows?: number; files?: number; maxAttempts?: number; targetFileGroupSize?: number } = {},
): Promise<LambdaProject> {
  const context = await createTestContext("s3");
  const snapshot = await writeOrdersSnapshot(context.storage, `${context.root}snapshot/`, {
    rows: options.rows ?? 30_000,
    files: options.files ?? 4,
  });
  // Partitioned by year only: two partitions keep the compaction stage quick.
  const base = ordersConfig(context, {
    partitionKeys: ["year"],
    ...(options.targetFileGroupSize ? { targetFileGroupSize: options.targetFileGroupSize } : {}),
  });
  const config = {
    ...base,
    tracker: { tableName: context.tableName, leaseSeconds: 60, maxAttempts: options.maxAttempts ?? 3 },
    aws: {
      region: "us-east-1",
      s3Endpoint: inject("servers").s3,
      forcePathStyle: true,
      dynamodbEndpoint: context.dynamoEndpoint,
    },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
  };
  return { context, config, projectId: base.projectId, snapshot };
}

const VARIABLES = [
  "SNAPLAKE_CONFIG",
  "SNAPLAKE_CONFIG_URI",
  "SNAPLAKE_LOG_LEVEL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ENDPOINT_URL_S3",
  "AWS_REGION",
] as const;

/** Sets the Lambda's environment (s3rver's fixed key pair, quiet logs); returns a function restoring it. */
export function lambdaEnvironment(vars: Partial<Record<(typeof VARIABLES)[number], string>>): () => void {
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  const next = {
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
    SNAPLAKE_LOG_LEVEL: "silent",
    ...vars,
  };
  for (const name of VARIABLES) {
    const value = next[name as keyof typeof next];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
