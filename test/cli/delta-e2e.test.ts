/**
 * Issue 15's "Done when", end to end through the `snaplake` CLI (in this process; the built binary where
 * processes are killed or race; tracker on dynalite), each Delta table checked with the log reader written
 * from the protocol text (test/table/delta/independent-reader.ts):
 * - three Snowplow batches appended by three projects: after each, the table holds exactly the events so
 *   far (by event_id); batch 3's new columns evolve the schema in its own commit; batch 2 again adds nothing;
 * - step 4 SIGKILLed once its commit file exists, then run again: one commit for the project;
 * - two projects committing at the same moment, on a local folder and on s3rver + the DynamoDB commit
 *   table: both land, versions 0 and 1, no commit lost or overwritten;
 * - an overwrite whose log read is overtaken by an append fails with one line naming both commits;
 * - an int column arriving as a string is refused, naming the column and both types, nothing committed.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { startBuiltCli, stderrLines } from "../support/cli.js";
import {
  download,
  type Lake,
  lakeCli,
  localLake,
  ordersRun,
  runAll,
  runUntilValidated,
  s3Lake,
  threeSnowplowBatches,
  twoConcurrentCommits,
} from "../support/lake-e2e.js";
import { pausedPaths, pauseEnv } from "../support/pause.js";
import { tempDir } from "../support/temp-dir.js";
import { checkFiles, type ReplayedTable, replayLog } from "../table/delta/independent-reader.js";

const APPEND = { format: "delta", mode: "append" } as const;

const localTable = (lake: Lake) => join(lake.dir, "lake");
const replay = (lake: Lake, version?: number) => replayLog(localTable(lake), version);

/** The event ids the table's active files hold at a version, sorted, after checking every file. */
function tableEventIds(lake: Lake, version?: number): string[] {
  const table = replay(lake, version);
  checkFiles(localTable(lake), table);
  return [...table.files.keys()]
    .flatMap((path) => {
      const file = join(localTable(lake), ...path.split("/").map(decodeURIComponent));
      return pl.readParquet(file).getColumn("event_id").toArray() as string[];
    })
    .sort();
}

/** The commits holding a txn of this project. */
const commitsOf = (table: ReplayedTable, projectId: string) =>
  table.commits.filter((actions) => actions.some((a) => a.txn?.appId === projectId));

describe("Delta tables across runs, through the CLI", () => {
  it("three Snowplow batches append: each replay holds exactly the events so far; batch 3's columns evolve the schema in its commit; batch 2 again adds nothing", async () => {
    const lake = await localLake();
    const batches = await threeSnowplowBatches(lake, APPEND);
    const expected: string[] = [];
    for (const [version, batch] of batches.entries()) {
      const summary = await runAll(lake, batch.file);
      expect(summary.commit).toMatchObject({ format: "delta", version, committed: true });
      expected.push(...batch.eventIds);
      expect(tableEventIds(lake)).toEqual([...expected].sort());
      expect(commitsOf(replay(lake), batch.projectId)).toHaveLength(1);
    }

    const table = replay(lake);
    expect(table.metaData.partitionColumns).toEqual(["event_date"]);
    const before = new Set(replay(lake, 1).schema.fields.map((f) => f.name));
    const added = table.schema.fields.filter((f) => !before.has(f.name));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((f) => f.nullable && /^(contexts|unstruct_event)_/.test(f.name))).toBe(true);
    // The new columns' metaData is in batch 3's commit, not in a commit of its own.
    expect(table.commits[2]!.some((a) => a.metaData)).toBe(true);
    expect(table.commits[2]!.some((a) => a.add)).toBe(true);
    expect(table.commits[1]!.some((a) => a.metaData)).toBe(false);
    // Batch 1's files do not have the new columns: a reader reads them as nulls.
    expect(replay(lake, 0).schema.fields.map((f) => f.name)).not.toContain(added[0]!.name);

    // Batch 2 again, end to end: the table already holds its commit.
    const again = await runAll(lake, batches[1]!.file);
    expect(again.commit).toMatchObject({ version: 1 });
    expect(replay(lake).version).toBe(2);
    expect(tableEventIds(lake)).toEqual([...expected].sort());
  }, 180_000);

  it("step 4 SIGKILLed as soon as its commit file exists, then run again: exactly one commit for the project", async () => {
    const lake = await localLake();
    const first = await ordersRun(lake, "first", 1, APPEND);
    await runAll(lake, first.file);
    // A short lease: the killed process's claim on step 4 expires quickly.
    const killed = await ordersRun(lake, "killed", 2, APPEND, {
      tracker: { tableName: lake.trackerTable, leaseSeconds: 2, maxAttempts: 2 },
    });
    await runUntilValidated(lake, killed.file);

    const commitFile = join(localTable(lake), "_delta_log", `${"1".padStart(20, "0")}.json`);
    const step4 = startBuiltCli(["step", "4", "--config", killed.file], lake.dir, lake.env);
    const ended = step4.done.then(() => true);
    // Kill it the moment version 1 exists: committed, but (most likely) not yet recorded in the tracker.
    while (!(await Promise.race([ended, Promise.resolve(false)]))) {
      try {
        readFileSync(commitFile);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    step4.child.kill("SIGKILL");
    await step4.done;
    expect(commitsOf(replay(lake), killed.projectId)).toHaveLength(1);

    const again = await runAll(lake, killed.file);
    expect(again.commit).toMatchObject({ version: 1 });
    const table = replay(lake);
    expect(table.version).toBe(1);
    expect(commitsOf(table, killed.projectId)).toHaveLength(1);
    expect(checkFiles(localTable(lake), table)).toBe(first.rows + killed.rows);
  }, 120_000);

  for (const [place, makeLake] of [
    ["a local folder", localLake],
    ["s3rver + the DynamoDB commit table", s3Lake],
  ] as const) {
    it(`two processes append at the same moment to ${place}: both commits land, none lost or overwritten`, async () => {
      const lake = await makeLake();
      const { runs, versions } = await twoConcurrentCommits(lake, APPEND);
      expect(versions).toEqual([0, 1]);

      if ("bucket" in lake) await download(`s3://${lake.bucket}/lake/`, localTable(lake));
      const table = replay(lake);
      expect(table.version).toBe(1);
      for (const r of runs) expect(commitsOf(table, r.projectId)).toHaveLength(1);
      expect(checkFiles(localTable(lake), table)).toBe(runs[0]!.rows + runs[1]!.rows);
    }, 120_000);
  }

  it("an overwrite whose read of the log is overtaken by an append fails with one line naming both commits; the append stays", async () => {
    const lake = await localLake();
    const night1 = await ordersRun(lake, "night1", 21, { format: "delta", mode: "overwrite" });
    await runAll(lake, night1.file);
    // The tracker's default of 2 attempts: the conflict is not retryable, so the second attempt never comes.
    const night2 = await ordersRun(lake, "night2", 22, { format: "delta", mode: "overwrite" });
    const append = await ordersRun(lake, "late-append", 23, APPEND);
    await Promise.all([night2, append].map((r) => runUntilValidated(lake, r.file)));

    // The overwrite reads version 0, then waits before creating version 1 (the local log store links a
    // complete temp file to the version's name)...
    const pause = tempDir("snaplake-pause-");
    const overwrite = startBuiltCli(["step", "4", "--config", night2.file], lake.dir, {
      ...lake.env,
      ...pauseEnv(pause, ["link"], /[/\\]_delta_log[/\\]\d{20}\.json$/),
    });
    const ended = overwrite.done.then(() => true);
    while (pausedPaths(pause).length === 0) {
      expect(await Promise.race([ended, new Promise((ok) => setTimeout(() => ok(false), 20))])).toBe(false);
    }
    // ...while the append commits version 1.
    const appended = await lakeCli(lake, ["step", "4", "--config", append.file, "--json"]);
    expect(appended.code, appended.stderr).toBe(0);
    expect(JSON.parse(appended.stdout)).toMatchObject({ version: 1, committed: true });
    writeFileSync(join(pause, "go"), "");

    const failed = await overwrite.done;
    expect(failed.code).toBe(1);
    const lines = stderrLines(failed.stderr).filter((line) => !line.startsWith("{"));
    expect(lines, failed.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/read version 0, but version 1/);
    expect(lines[0]).toContain(night2.projectId);
    expect(lines[0]).toContain(append.projectId);

    const table = replay(lake);
    expect(table.version).toBe(1);
    expect(commitsOf(table, night2.projectId)).toHaveLength(0);
    expect(checkFiles(localTable(lake), table)).toBe(night1.rows + append.rows);
  }, 120_000);

  it("an integer column arriving as a string is refused at step 4, naming the column and both types; nothing is committed", async () => {
    const lake = await localLake();
    const first = await ordersRun(lake, "ints", 31, APPEND);
    await runAll(lake, first.file);
    expect(replay(lake).schema.fields.find((f) => f.name === "customer_id")?.type).toBe("integer");
    // customer_id (Int32) copied as text over itself.
    const strings = await ordersRun(lake, "strings", 32, APPEND, {
      derivedColumns: [
        { name: "year", from: "order_time", format: "%Y" },
        { name: "customer_id", from: "customer_id" },
      ],
    });
    await runUntilValidated(lake, strings.file);
    const refused = await lakeCli(lake, ["step", "4", "--config", strings.file]);
    expect(refused.code).toBe(1);
    const lines = stderrLines(refused.stderr).filter((line) => !line.startsWith("{"));
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/"customer_id" is integer .* but string/);
    expect(readdirSync(join(localTable(lake), "_delta_log")).filter((n) => n.endsWith(".json"))).toEqual([
      `${"0".padStart(20, "0")}.json`,
    ]);
    expect(replay(lake).version).toBe(0);
  }, 120_000);
});

describe("the table settings of a project that ran", () => {
  const edit = (lake: Lake, file: string, table: Record<string, unknown>) => {
    const config = JSON.parse(readFileSync(join(lake.dir, file), "utf8"));
    writeFileSync(join(lake.dir, file), JSON.stringify({ ...config, table }));
  };
  const oneLine = (stderr: string) => {
    const lines = stderrLines(stderr).filter((line) => !line.startsWith("{"));
    expect(lines, stderr).toHaveLength(1);
    return lines[0]!;
  };

  it("a changed mode is CONFIG_CHANGED; reset from 2.3 would delete committed files and is refused; from 4 the table keeps its one commit", async () => {
    const lake = await localLake();
    const nightly = await ordersRun(lake, "nightly", 41, APPEND);
    await runAll(lake, nightly.file);
    const committed = replay(lake);

    edit(lake, nightly.file, { format: "delta", mode: "overwrite" });
    const changed = await lakeCli(lake, ["run", "--config", nightly.file]);
    expect(changed.code).toBe(2);
    expect(oneLine(changed.stderr)).toMatch(/in: table\.mode\..*--from-step 4-commit/);

    const refused = await lakeCli(lake, ["reset", "--config", nightly.file, "--from-step", "2.3", "--yes"]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toContain(`"${nightly.projectId}" is committed to the Delta table`);
    expect(oneLine(refused.stderr)).toContain("as version 0");
    expect(checkFiles(localTable(lake), replay(lake))).toBe(nightly.rows); // every file still there

    const reset = await lakeCli(lake, ["reset", "--config", nightly.file, "--from-step", "4", "--yes"]);
    expect(reset.code, reset.stderr).toBe(0);
    const again = await runAll(lake, nightly.file);
    expect(again.commit).toMatchObject({ format: "delta", version: 0, committed: false });
    expect(replay(lake)).toEqual(committed);
  }, 120_000);

  it("a hive run switched to delta: reset from step 4 commits the run's files as the table's first version", async () => {
    const lake = await localLake();
    const hive = await ordersRun(lake, "hive", 51, {});
    const summary = await runAll(lake, hive.file);
    expect(summary.commit).toMatchObject({ format: "hive", committed: false });

    edit(lake, hive.file, APPEND);
    const changed = await lakeCli(lake, ["step", "4", "--config", hive.file]);
    expect(changed.code).toBe(2);
    expect(oneLine(changed.stderr)).toMatch(/in: table\.format, table\.mode|in: table\.format/);
    expect((await lakeCli(lake, ["reset", "--config", hive.file, "--from-step", "4", "--yes"])).code).toBe(0);

    const committed = await runAll(lake, hive.file);
    expect(committed.commit).toMatchObject({
      format: "delta",
      version: 0,
      committed: true,
      rowsAdded: hive.rows,
    });
    expect(checkFiles(localTable(lake), replay(lake))).toBe(hive.rows);
  }, 120_000);
});
