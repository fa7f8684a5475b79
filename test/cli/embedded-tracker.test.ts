/**
 * The embedded tracker (no tracker.tableName) shared by several `snaplake` processes on one state folder:
 * the built binary, real processes, a real SIGKILL.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { EMBEDDED_TABLE_NAME } from "../../src/runtime.js";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { Step } from "../../src/steps/catalogue.js";
import { createStorage } from "../../src/storage/create.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { EmbeddedTracker } from "../../src/tracker/embedded.js";
import { runBuiltCli as run, startBuiltCli as start } from "../support/cli.js";
import { uniqueName } from "../support/clients.js";
import { pausedPaths, pauseEnv } from "../support/pause.js";
import { tempDir } from "../support/temp-dir.js";

/** An orders project in `dir` on the embedded tracker, with a 5-minute lease nobody should wait out. */
function writeConfig(dir: string, name: string) {
  const config = {
    projectId: uniqueName(name),
    snapshot: { uri: "./snapshot/" },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    stagingUri: `./${name}/staging/`,
    datalakeUri: `./${name}/lake/`,
    partitionKeys: ["year"],
    sortBy: ["order_time", "order_id"],
    targetFileGroupSize: 100_000,
    targetParquetFileSize: "32KB",
    tracker: { leaseSeconds: 300 },
  };
  const file = `${name}.config.json`;
  writeFileSync(join(dir, file), JSON.stringify(config, null, 2));
  return { file, config };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lakeOrderIds(lake: string): Promise<pl.DataFrame> {
  const storage = createStorage();
  const files: string[] = [];
  for await (const o of storage.list(lake)) if (o.uri.endsWith(".parquet")) files.push(o.uri);
  return pl.concat(await Promise.all(files.map(async (u) => pl.readParquet(await storage.get(u)))));
}

function findFile(root: string, name: string): string | undefined {
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true }))
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  return undefined;
}

/** Reads the state folder's tasks as one more client (or host, if nobody else is). */
async function withTracker<T>(stateDir: string, fn: (tracker: DynamoTracker) => Promise<T>): Promise<T> {
  const embedded = await EmbeddedTracker.open(stateDir);
  try {
    return await fn(new DynamoTracker({ client: embedded.client, tableName: EMBEDDED_TABLE_NAME }));
  } finally {
    await embedded.close();
  }
}

const succeededLine = '"msg":"task succeeded"';

describe("the embedded tracker shared by local processes", () => {
  it("serves run, status and a second worker at once, survives a SIGKILLed host, and is found from any folder", async () => {
    const dir = tempDir("snaplake-embedded-");
    const snapshot = await writeOrdersSnapshot(createStorage(), `${dir}/snapshot/`, {
      rows: 40_000,
      files: 40,
    });
    const stateDir = join(dir, ".snaplake");

    // --- run hosts; status and a worker join it; all three finish and the lake validates.
    const a = writeConfig(dir, "a");
    const host = start(["run", "--config", a.file, "--workers", "1", "--json"], dir);
    await waitFor("the run's first task", () => host.stderr().includes(succeededLine));
    const status = await run(["status", "--config", a.file, "--json"], dir);
    expect(status.stderr).toContain(
      `snaplake: tracker: embedded, state ${stateDir} (served by process ${host.child.pid})`,
    );
    expect(status.code, status.stderr).toBe(0);
    const counts = JSON.parse(status.stdout).steps[Step.snapshotToStaging];
    expect(counts.succeeded).toBeGreaterThan(0);
    const worker = await run(["worker", "--config", a.file, "--workers", "1", "--json"], dir);
    expect(worker.code, worker.stderr).toBe(0);
    const ran = await host.done;
    expect(ran.code, ran.stderr).toBe(0);
    for (const output of [ran.stdout, worker.stdout]) {
      const { validation } = JSON.parse(output);
      expect(validation.ok).toBe(true);
      expect(validation.lake.rows).toBe(snapshot.rows);
    }
    expect(ran.stderr).not.toContain("Database is closed");

    // --- the same answer from another current directory (the state sits beside the config file).
    const elsewhere = tempDir("snaplake-elsewhere-");
    const fromDir = await run(["status", "--config", a.file, "--json"], dir);
    const fromElsewhere = await run(["status", "--config", join(dir, a.file), "--json"], elsewhere);
    expect(fromElsewhere.code).toBe(0);
    expect(JSON.parse(fromElsewhere.stdout)).toEqual(JSON.parse(fromDir.stdout));
    expect(JSON.parse(fromElsewhere.stdout).steps[Step.validate].succeeded).toBe(1);
    expect(fromElsewhere.stderr).toContain(`snaplake: tracker: embedded, state ${stateDir} (`);
    const validated = await run(["validate", "--config", join(dir, a.file), "--json"], elsewhere);
    expect(validated.code, validated.stderr).toBe(0);
    expect(JSON.parse(validated.stdout).lake.rows).toBe(snapshot.rows);
    expect(existsSync(join(elsewhere, ".snaplake"))).toBe(false);

    // --- a tracker that never ran the project refuses to validate and leaves the result as it was.
    const resultFile = findFile(join(dir, "a", "staging"), "validate-datalake-result.json")!;
    const before = readFileSync(resultFile, "utf8");
    const empty = await run(
      ["validate", "--config", a.file, "--state-dir", tempDir("snaplake-empty-state-")],
      dir,
    );
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain(`Project "${a.config.projectId}" has no finished step 0`);
    expect(empty.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(resultFile, "utf8")).toBe(before);

    // --- project b: its host is SIGKILLed while it holds two tasks; a worker carries on, a re-run finishes.
    // The host's step-1.3 tasks stop where they read their group file (as on a disk that never answers), so it
    // holds exactly its two tasks when it is killed, however fast or slow the machine: left to race, it could
    // finish the step between two looks and never be seen holding two.
    const b = writeConfig(dir, "b");
    const pause = tempDir("snaplake-pause-");
    const victim = start(
      ["run", "--config", b.file, "--workers", "2"],
      dir,
      pauseEnv(pause, ["open", "readFile"], /[/\\]manifests[/\\]snapshot-file-groups[/\\][0-9a-f]+\.json$/),
    );
    await waitFor("b's host to hold two tasks", () => pausedPaths(pause).length === 2);
    const helper = start(["worker", "--config", b.file, "--workers", "1", "--json"], dir);
    // The worker, a client of the doomed host, is doing the step's other tasks. (Waiting until it has done
    // them all before the kill would take one worker's whole step 1.3: minutes on a loaded machine.)
    await waitFor("the worker's first task", () => helper.stderr().includes(succeededLine));
    expect(helper.stderr()).toContain(
      `snaplake: tracker: embedded, state ${stateDir} (served by process ${victim.child.pid})`,
    );
    const victimOwner = `${victim.child.pid}@${hostname()}`;
    const heldWhenKilled = await withTracker(stateDir, async (tracker) =>
      (await tracker.list(b.config.projectId, Step.snapshotToStaging))
        .filter((t) => t.status === "in_progress" && t.leaseOwner === victimOwner)
        .map((t) => t.taskId),
    );
    expect(heldWhenKilled).toHaveLength(2);
    victim.child.kill("SIGKILL");
    expect((await victim.done).signal).toBe("SIGKILL");
    const started = Date.now();
    const carriedOn = await helper.done;
    expect(carriedOn.code, carriedOn.stderr).toBe(0);
    expect(carriedOn.stderr).toContain("the embedded tracker's host is gone");
    const rerun = await run(["run", "--config", b.file, "--json"], dir);
    expect(rerun.code, rerun.stderr).toBe(0);
    // Well within the 300 s lease: the dead host's tasks were taken over at once.
    expect(Date.now() - started).toBeLessThan(240_000);
    expect(JSON.parse(rerun.stdout).validation.ok).toBe(true);

    const tasks = await withTracker(stateDir, async (tracker) => [
      ...(await tracker.list(b.config.projectId, Step.snapshotToStaging)),
      ...(await tracker.list(b.config.projectId, Step.stagingToDatalake)),
    ]);
    expect(tasks.every((t) => t.status === "succeeded")).toBe(true);
    const takenOver = tasks.filter((t) => t.errors.some((e) => e.name === "LeaseHolderGoneError"));
    expect(takenOver.map((t) => t.taskId).sort()).toEqual([...heldWhenKilled].sort());
    expect(tasks.filter((t) => t.errors.some((e) => e.name === "LeaseExpiredError"))).toEqual([]);
    const lake = await lakeOrderIds(join(dir, "b", "lake/"));
    expect(lake.height).toBe(snapshot.rows);
    expect(lake.getColumn("order_id").nUnique()).toBe(snapshot.rows);
  }, 600_000);
});
