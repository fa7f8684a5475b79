import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AslMapState, AslTaskState } from "../../src/aws/state-machine.js";
import { snaplake } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { checkAsl } from "./asl-check.js";
import { LAMBDA_ARN } from "./lambda-fixture.js";

function configFile(overrides: Record<string, unknown> = {}): string {
  const dir = tempDir("snaplake-sfn-");
  const path = join(dir, "project.jsonc");
  const config = {
    projectId: "orders-2024-06-01",
    snapshot: { uri: "s3://exports/orders/2024-06-01/" },
    stagingUri: "s3://lake-staging/orders/",
    datalakeUri: "s3://lake/orders/",
    tracker: { tableName: "snaplake-tasks", leaseSeconds: 120, maxAttempts: 4 },
    reader: { format: "parquet" },
    ...overrides,
  };
  writeFileSync(path, `// written by the test\n${JSON.stringify(config, null, 2)}\n`);
  return path;
}

describe("snaplake sfn-definition", () => {
  it("prints a sound ASL definition wired to the config's project, staging bucket, lease and attempts", async () => {
    const result = await snaplake([
      "sfn-definition",
      "--config",
      configFile(),
      "--lambda-arn",
      LAMBDA_ARN,
      "--max-concurrency",
      "20",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const definition = JSON.parse(result.stdout);
    expect(checkAsl(definition)).toEqual([]);
    const map = definition.States.ProcessSnapshotGroups as AslMapState;
    expect(map.MaxConcurrency).toBe(20);
    expect(map.ItemReader.Parameters.Bucket).toBe("lake-staging");
    const manifest = definition.States.Manifest as AslTaskState;
    expect(manifest.Parameters).toEqual({
      FunctionName: LAMBDA_ARN,
      Payload: { action: "step", step: "0-manifest", projectId: "orders-2024-06-01" },
    });
    // Retries after a dead worker wait out the 120 s lease; task retries match maxAttempts 4.
    expect(manifest.Retry.find((r) => r.ErrorEquals.includes("Lambda.Unknown"))!.IntervalSeconds).toBe(135);
    const item = map.ItemProcessor.States.ProcessSnapshotGroup as AslTaskState;
    expect(item.Retry.find((r) => r.ErrorEquals.includes("TaskFailedError"))!.MaxAttempts).toBe(3);
  });

  it("refuses a config Step Functions can't run, and bad options, with usage exit code 2", async () => {
    const local = await snaplake([
      "sfn-definition",
      "--config",
      configFile({ stagingUri: "./staging/" }),
      "--lambda-arn",
      LAMBDA_ARN,
    ]);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain("stagingUri: must be an s3:// URI");
    expect(local.stdout).toBe("");

    const embedded = await snaplake([
      "sfn-definition",
      "--config",
      configFile({ tracker: {} }),
      "--lambda-arn",
      LAMBDA_ARN,
    ]);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toContain("tracker.tableName");

    const arn = await snaplake(["sfn-definition", "--config", configFile(), "--lambda-arn", "snaplake"]);
    expect(arn.code).toBe(2);
    expect(arn.stderr).toContain("lambdaArn: not a Lambda function ARN");

    const concurrency = await snaplake([
      "sfn-definition",
      "--config",
      configFile(),
      "--lambda-arn",
      LAMBDA_ARN,
      "--max-concurrency",
      "0",
    ]);
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toContain("--max-concurrency");
    expect(concurrency.stdout).toBe("");
  });
});
