import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommanderError } from "@commander-js/extra-typings";
import { describe, expect, it, vi } from "vitest";
import type { AslMapState, AslTaskState } from "../../src/aws/state-machine.js";
import { buildProgram } from "../../src/cli/program.js";
import { checkAsl } from "./asl-check.js";
import { LAMBDA_ARN } from "./lambda-fixture.js";

/** Runs the CLI in-process and captures stdout, stderr and the exit code. */
async function snaplake(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  process.exitCode = undefined;
  let code: number | undefined;
  try {
    await buildProgram()
      .exitOverride()
      .configureOutput({ writeErr: (s) => err.push(s), writeOut: (s) => out.push(s) })
      .parseAsync(["node", "snaplake", ...args]);
    code = typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    code = error.exitCode;
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

function configFile(overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "snaplake-sfn-"));
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
    const item = map.ItemProcessor.States.ProcessTask as AslTaskState;
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
    expect(concurrency.code).not.toBe(0);
    expect(concurrency.stderr).toContain("--max-concurrency");
    expect(concurrency.stdout).toBe("");
  });
});
