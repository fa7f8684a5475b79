/**
 * `snaplake` on a real project: local folders for data, a DynamoDB table on dynalite for the tracker, so
 * several worker processes can share it. The real binary (dist/, built by `npm test`) for init in the
 * current folder, the bad config's whole stderr and the worker processes; the other commands in this process.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, inject, it } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { Step } from "../../src/steps/catalogue.js";
import { createStorage } from "../../src/storage/create.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { runBuiltCli as run, snaplake, startBuiltCli as start } from "../support/cli.js";
import { testDynamoClient, uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

async function ordersProjectDir(options: { rows: number; files: number; leaseSeconds?: number }) {
  const dir = tempDir("snaplake-cli-");
  const snapshot = await writeOrdersSnapshot(createStorage(), `${dir}/snapshot/`, {
    rows: options.rows,
    files: options.files,
  });
  const tableName = uniqueName("cli-tasks");
  const config = {
    projectId: uniqueName("orders"),
    snapshot: { uri: "./snapshot/" },
    reader: { format: "parquet" },
    derivedColumns: [
      { name: "year", from: "order_time", format: "%Y" },
      { name: "month", from: "order_time", format: "%m" },
    ],
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["year", "month"],
    sortBy: ["order_time", "order_id"],
    targetFileGroupSize: 60_000,
    targetParquetFileSize: "64KB",
    tracker: { tableName, leaseSeconds: options.leaseSeconds ?? 60, maxAttempts: 3 },
    aws: { region: "us-east-1", dynamodbEndpoint: inject("servers").dynalite },
  };
  writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config, null, 2));
  const tracker = new DynamoTracker({ client: testDynamoClient(inject("servers").dynalite), tableName });
  await tracker.createTable();
  return { dir, snapshot, config, tracker };
}

describe("snaplake CLI", () => {
  it("init writes a commented config that parses, and refuses to overwrite it", async () => {
    const dir = tempDir("snaplake-init-");
    const first = await run(["init"], dir);
    expect(first.code).toBe(0);
    const text = readFileSync(join(dir, "snaplake.config.jsonc"), "utf8");
    expect(text).toContain("// ");
    const second = await run(["init"], dir);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("already exists");
    // The example is a valid config: status reads it (embedded tracker in the dir) and reports nothing done.
    const status = await run(["status", "--config", "snaplake.config.jsonc", "--json"], dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).steps[Step.manifest].succeeded).toBe(0);
  });

  it("a bad config gives one line naming the field and exit code 2, never a stack trace", async () => {
    const dir = tempDir("snaplake-bad-");
    writeFileSync(
      join(dir, "bad.json"),
      JSON.stringify({
        projectId: "x",
        snapshot: { uri: "./s/" },
        stagingUri: "./st/",
        targetParquetFileSize: "huge",
      }),
    );
    const result = await run(["run", "--config", "bad.json"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("datalakeUri");
    expect(result.stderr).toContain("targetParquetFileSize");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);

    // The binary's whole stderr is that one line (above); the other usage errors are the same runCli's
    // answers, checked in this process.
    const unknownStep = await snaplake(["step", "9.9", "--config", join(dir, "bad.json")]);
    expect(unknownStep.code).toBe(2);
    const missing = await snaplake(["status", "--config", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.json");

    // Bad option values are usage errors too, reported before any command runs.
    for (const args of [
      ["run", "--config", join(dir, "bad.json"), "--workers", "0"],
      ["populate-event-manifest", "./archive", "s.json", "r.json", "--concurrency", "0"],
      ["populate-event-manifest", "./archive", "s.json", "r.json", "--lease-seconds", "1.5"],
    ]) {
      const badOption = await snaplake(args);
      expect(badOption.code, args.join(" ")).toBe(2);
      expect(badOption.stderr).toContain(`${args.at(-2)} <n>' argument '${args.at(-1)}' is invalid`);
      expect(badOption.stderr).toContain("must be a whole number");
      expect(badOption.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("run, status, step, validate and retry on a DynamoDB tracker", async () => {
    const { dir, snapshot, config } = await ordersProjectDir({ rows: 20_000, files: 4 });
    const configFile = join(dir, "snaplake.config.json");
    const ran = await snaplake(["run", "--config", configFile, "--json"]);
    expect(ran.stderr).not.toContain("Error");
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout);
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.lake.rows).toBe(snapshot.rows);

    const status = JSON.parse((await snaplake(["status", "--config", configFile, "--json"])).stdout);
    expect(status.projectId).toBe(config.projectId);
    expect(status.steps[Step.snapshotToStaging].succeeded).toBe(summary.snapshotGroups.succeeded);
    expect(status.failures).toEqual([]);

    const todo = await snaplake(["step", "1.2", "--config", configFile, "--json"]);
    expect(JSON.parse(todo.stdout)).toEqual([]);
    const validated = await snaplake(["validate", "--config", configFile, "--json"]);
    expect(validated.code).toBe(0);
    expect(JSON.parse(validated.stdout).lake.rows).toBe(snapshot.rows);
    const retried = await snaplake(["retry", "--config", configFile]);
    expect(retried.stdout).toContain("0 task(s) reset");

    // A lake file removed behind snaplake's back: validate says which partition and exits 1.
    const lakeFile = summary.validation.partitions[0].partition;
    const { readdirSync, rmSync } = await import("node:fs");
    const folder = join(dir, "lake", lakeFile);
    rmSync(join(folder, readdirSync(folder)[0]!));
    const broken = await snaplake(["validate", "--config", configFile]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(lakeFile);
  });

  it("two worker processes share a project and finish the task of a SIGKILLed worker after its lease", async () => {
    const { dir, snapshot, config, tracker } = await ordersProjectDir({
      rows: 60_000,
      files: 12,
      leaseSeconds: 3,
    });
    const first = start(["worker", "--config", "snaplake.config.json", "--workers", "1"], dir);
    // Wait until the first worker is inside a snapshot group task, after finishing at least one.
    let victim: string | undefined;
    for (let i = 0; i < 600 && !victim; i++) {
      const tasks = await tracker.list(config.projectId, Step.snapshotToStaging);
      if (tasks.some((t) => t.status === "succeeded"))
        victim = tasks.find((t) => t.status === "in_progress")?.taskId;
      if (!victim) await new Promise((r) => setTimeout(r, 50));
    }
    expect(victim).toBeDefined();
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    expect((await tracker.get(config.projectId, Step.snapshotToStaging, victim!))!.status).toBe(
      "in_progress",
    );

    const [a, b] = await Promise.all([
      run(["worker", "--config", "snaplake.config.json", "--workers", "1", "--json"], dir),
      run(["worker", "--config", "snaplake.config.json", "--workers", "1", "--json"], dir),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const victimTask = (await tracker.get(config.projectId, Step.snapshotToStaging, victim!))!;
    expect(victimTask.status).toBe("succeeded");
    expect(victimTask.attempts).toBeGreaterThanOrEqual(2); // taken over after the lease expired
    for (const step of [Step.snapshotToStaging, Step.stagingToDatalake]) {
      const counts = await tracker.counts(config.projectId, step);
      expect(counts.in_progress + counts.pending + counts.failed + counts.ignored).toBe(0);
    }
    // No row lost, none duplicated.
    const lakeFiles: string[] = [];
    const storage = createStorage();
    for await (const o of storage.list(`${dir}/lake/`)) lakeFiles.push(o.uri);
    const lake = pl.concat(
      await Promise.all(lakeFiles.map(async (u) => pl.readParquet(await storage.get(u)))),
    );
    expect(lake.height).toBe(snapshot.rows);
    expect(lake.getColumn("order_id").nUnique()).toBe(snapshot.rows);
    expect(
      existsSync(
        join(dir, "staging", config.projectId, "manifests", "validation", "validate-datalake-result.json"),
      ),
    ).toBe(true);
  }, 240_000);
});
