/**
 * Errors as a CLI user meets them: a task that can't succeed fails on its first attempt and shows as failed
 * in the progress events and in `status --json` (message and code, no stack); missing credentials and a
 * refused endpoint print one line naming what to fix.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/cli/config-file.js";
import { createConfiguredProject } from "../../src/configured-project.js";
import type { ProgressEvent } from "../../src/project.js";
import { openRuntime } from "../../src/runtime.js";
import { Step } from "../../src/steps/catalogue.js";
import { StageBarrierError } from "../../src/steps/step-2-1-plan-staging-to-datalake.js";
import { builtFile, expectNoStackTrace, snaplake, stderrLines } from "../support/cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "snaplake-errors-"));
  dirs.push(dir);
  return dir;
}

/** A project whose derived column reads a column the data doesn't have. */
function badDerivedColumnProject(): { dir: string; config: string } {
  const dir = tempDir();
  const snapshot = join(dir, "snapshot");
  mkdirSync(snapshot);
  writeFileSync(join(snapshot, "orders.ndjson"), '{"order_id":1,"created":"2024-01-01"}\n{"order_id":2}\n');
  const config = join(dir, "snaplake.config.json");
  writeFileSync(
    config,
    JSON.stringify({
      projectId: "bad-derived",
      snapshot: { uri: "./snapshot/" },
      reader: { format: "ndjson" },
      derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
      stagingUri: "./staging/",
      datalakeUri: "./lake/",
      partitionKeys: ["year"],
      tracker: { maxAttempts: 3, retryDelaySeconds: 5 },
    }),
  );
  return { dir, config };
}

/** The built binary in its own process, with the environment given (nothing inherited from AWS_*). */
function runBinary(args: string[], env: Record<string, string>, cwd: string) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
  const child = spawn(process.execPath, [builtFile("cli/main.js"), ...args], {
    cwd,
    env: {
      ...clean,
      HOME: cwd,
      AWS_SHARED_CREDENTIALS_FILE: join(cwd, "no-credentials"),
      AWS_CONFIG_FILE: join(cwd, "no-config"),
      AWS_EC2_METADATA_DISABLED: "true",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) =>
    child.on("close", (code) => ok({ code, stdout, stderr })),
  );
}

describe("CLI errors", () => {
  it("a bad derived column fails its task on the first attempt; progress and status --json show it failed", async () => {
    const { dir, config } = badDerivedColumnProject();
    const stateDir = join(dir, "state");

    const ran = await snaplake(["run", "--config", config, "--state-dir", stateDir]);
    expect(ran.code).toBe(1);
    expect(stderrLines(ran.stderr)).toHaveLength(1);
    expect(ran.stderr).toContain('Derived column "year" failed');

    const status = await snaplake(["status", "--config", config, "--state-dir", stateDir, "--json"]);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.steps[Step.snapshotToStaging]).toMatchObject({ succeeded: 0, ignored: 1, failed: 0 });
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({
      step: Step.snapshotToStaging,
      status: "ignored",
      willRetry: false,
      attempts: "1/3",
      lastError: { name: "DerivedColumnError", code: "DERIVED_COLUMN_FAILED" },
    });
    expect(report.failures[0].lastError.message).toContain("order_time");
    expect(report.failures[0].lastError.stack).toBeUndefined();
    expect(status.stdout).not.toContain("node_modules");

    const text = await snaplake(["status", "--config", config, "--state-dir", stateDir]);
    expect(text.stdout).toContain("failed for good");
    expect(text.stdout).toContain("[DERIVED_COLUMN_FAILED]");

    // The progress events a bar is drawn from: the task counts as failed, never as done.
    const definition = await loadConfigFile(config);
    const runtime = await openRuntime(definition.config, { stateDir: join(dir, "state-2") });
    try {
      const events: ProgressEvent[] = [];
      const project = createConfiguredProject(definition, runtime);
      await expect(project.runAll({ onProgress: (e) => events.push(e) })).rejects.toBeInstanceOf(
        StageBarrierError,
      );
      expect(
        events.map(({ outcome, succeeded, failed, total }) => ({ outcome, succeeded, failed, total })),
      ).toEqual([{ outcome: "failed", succeeded: 0, failed: 1, total: 1 }]);
    } finally {
      await runtime.close();
    }
  });

  it("runs create without AWS credentials or region prints one line and exits 2", async () => {
    const dir = tempDir();
    const result = await runBinary(["runs", "create", "some-table"], {}, dir);
    expectNoStackTrace(result);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringContaining("No AWS credentials found")]);
    expect(result.code).toBe(2);
  });

  it("a refused aws.dynamodbEndpoint prints one line naming the endpoint and the config field", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "c.json"),
      JSON.stringify({
        projectId: "refused",
        snapshot: { uri: "./snapshot/" },
        stagingUri: "./staging/",
        datalakeUri: "./lake/",
        tracker: { tableName: "snaplake-tasks" },
        aws: { region: "eu-west-1", dynamodbEndpoint: "http://127.0.0.1:1" },
      }),
    );
    const credentials = { AWS_ACCESS_KEY_ID: "snaplaketest", AWS_SECRET_ACCESS_KEY: "snaplaketest" };
    const result = await runBinary(["status", "--config", "c.json", "--json"], credentials, dir);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    const lines = stderrLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("http://127.0.0.1:1");
    expect(lines[0]).toContain("aws.dynamodbEndpoint in c.json");
    expect(lines[0]).not.toContain("snaplaketest");
    expect(result.stdout).toBe("");
  });
});
