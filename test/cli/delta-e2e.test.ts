/**
 * Issue 15's "Done when", end to end through the built `snaplake` binary (tracker on dynalite), each Delta
 * table checked with the log reader written from the protocol text (test/table/delta/independent-reader.ts):
 * - three Snowplow batches appended by three projects: after each, the table holds exactly the events so
 *   far (by event_id); batch 3's new columns evolve the schema in its own commit; batch 2 again adds nothing;
 * - step 4 SIGKILLed once its commit file exists, then run again: one commit for the project;
 * - two projects committing at the same moment, on a local folder and on s3rver + the DynamoDB commit
 *   table: both land, versions 0 and 1, no commit lost or overwritten;
 * - an overwrite whose log read is overtaken by an append fails with one line naming both commits;
 * - an int column arriving as a string is refused, naming the column and both types, nothing committed.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { describe, expect, inject, it } from "vitest";
import { loadConfigFile } from "../../src/cli/config-file.js";
import { createConfiguredProject } from "../../src/configured-project.js";
import { openRuntime } from "../../src/runtime.js";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { writeEnrichedArchive } from "../../src/snowplow/generator.js";
import { Step } from "../../src/steps/catalogue.js";
import { createStorage } from "../../src/storage/create.js";
import { createDeltaLogTable } from "../../src/table/delta/index.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { runBuiltCli as run, startBuiltCli, stderrLines } from "../support/cli.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "../support/clients.js";
import { pausedPaths, pauseEnv } from "../support/pause.js";
import { tempDir } from "../support/temp-dir.js";
import { checkFiles, type ReplayedTable, replayLog } from "../table/delta/independent-reader.js";

// The in-process steps use the standard credential chain: s3rver accepts only its own key pair, dynalite any.
process.env.AWS_ACCESS_KEY_ID = "S3RVER";
process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";

const APPEND = { format: "delta", mode: "append" } as const;
/** event_id is the 7th field of an enriched event (Snowplow's canonical TSV order). */
const EVENT_ID_FIELD = 6;

interface Lake {
  dir: string;
  trackerTable: string;
  /** Where the lake lives, as the configs name it (a local `./lake/` or an s3:// URI). */
  datalakeUri: string;
  /** Settings every config of this lake shares (the S3 endpoint and log store on s3rver). */
  shared: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

async function localLake(): Promise<Lake> {
  const dir = tempDir("snaplake-delta-e2e-");
  const trackerTable = uniqueName("delta-e2e");
  await new DynamoTracker({
    client: testDynamoClient(inject("servers").dynalite),
    tableName: trackerTable,
  }).createTable();
  return { dir, trackerTable, datalakeUri: "./lake/", shared: {}, env: {} };
}

/** A lake on s3rver whose commits go through the DynamoDB commit table on dynalite. */
async function s3Lake(): Promise<Lake & { bucket: string }> {
  const lake = await localLake();
  const bucket = await createTestBucket(testS3Client(), "delta-e2e");
  const logTable = uniqueName("delta-log");
  await createDeltaLogTable(testDynamoClient(inject("servers").dynalite), logTable);
  return {
    ...lake,
    bucket,
    datalakeUri: `s3://${bucket}/lake/`,
    shared: { logStore: { type: "dynamodb", tableName: logTable } },
    // s3rver accepts only its own key pair; dynalite takes any.
    env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
  };
}

function writeConfig(lake: Lake, name: string, config: Record<string, unknown>) {
  const table = { ...(config.table as object), ...lake.shared };
  const full = {
    projectId: uniqueName(name),
    stagingUri: `./${name}/staging/`,
    datalakeUri: lake.datalakeUri,
    tracker: { tableName: lake.trackerTable, leaseSeconds: 60, maxAttempts: 2, retryDelaySeconds: 0 },
    aws: {
      region: "us-east-1",
      dynamodbEndpoint: inject("servers").dynalite,
      s3Endpoint: inject("servers").s3,
      forcePathStyle: true,
    },
    ...config,
    table,
  };
  const file = `${name}.json`;
  writeFileSync(join(lake.dir, file), JSON.stringify(full));
  return { file, projectId: full.projectId as string };
}

/** A Snowplow batch (one run folder, two files, no duplicates or bad lines) and its project. */
async function snowplowBatch(
  lake: Lake,
  name: string,
  options: { seed: number; start: string; reader?: Record<string, unknown> },
) {
  const root = join(lake.dir, name, "archive");
  await writeEnrichedArchive({
    root,
    runs: 1,
    filesPerRun: 2,
    linesPerFile: 150,
    seed: options.seed,
    startTime: new Date(options.start),
    badShare: 0,
    naturalDuplicateShare: 0,
    syntheticDuplicateShare: 0,
    unfingerprintedDuplicateShare: 0,
  });
  const config = writeConfig(lake, name, {
    snapshot: { uri: `./${name}/archive/` },
    reader: { format: "snowplow-enriched", ...options.reader },
    targetParquetFileSize: "256KB",
    table: APPEND,
  });
  return { ...config, eventIds: archiveEventIds(root) };
}

/** Every event_id in an enriched archive, read as plain text (gzip or not), sorted. */
function archiveEventIds(root: string): string[] {
  const ids: string[] = [];
  for (const run of readdirSync(root)) {
    for (const name of readdirSync(join(root, run))) {
      if (!name.startsWith("part-")) continue;
      const bytes = readFileSync(join(root, run, name));
      const text = (name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
      for (const line of text.split("\n").filter(Boolean)) ids.push(line.split("\t")[EVENT_ID_FIELD]!);
    }
  }
  return ids.sort();
}

/** An orders snapshot (parquet reader, partitioned by year) and its project. */
async function ordersRun(
  lake: Lake,
  name: string,
  seed: number,
  table: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const snapshot = await writeOrdersSnapshot(createStorage(), `${lake.dir}/${name}/snapshot/`, {
    rows: 200,
    files: 2,
    seed,
  });
  const config = writeConfig(lake, name, {
    snapshot: { uri: `./${name}/snapshot/` },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    partitionKeys: ["year"],
    sortBy: ["order_time", "order_id"],
    targetParquetFileSize: "64KB",
    table,
    ...extra,
  });
  return { ...config, rows: snapshot.rows };
}

/**
 * Steps 0 to 3 of a config file's project in this process (the library, as the CLI builds it), leaving a
 * validated run whose step 4 has not run: quicker than five CLI processes, and step 4 is what these tests
 * run through the CLI.
 */
async function runUntilValidated(lake: Lake, file: string) {
  const definition = await loadConfigFile(join(lake.dir, file));
  const runtime = await openRuntime(definition.config);
  try {
    const project = createConfiguredProject(definition, runtime);
    await project.step1_1PlanSnapshotToStaging();
    await project.drain(Step.snapshotToStaging, { workers: 2 });
    await project.step2_1PlanStagingToDatalake();
    await project.drain(Step.stagingToDatalake, { workers: 2 });
    expect((await project.step3ValidateDatalake()).ok).toBe(true);
  } finally {
    await runtime.close();
  }
}

async function runAll(lake: Lake, file: string) {
  const result = await run(["run", "--config", file, "--json"], lake.dir, lake.env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

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
    const batches = [
      await snowplowBatch(lake, "batch1", { seed: 1, start: "2024-03-01T00:00:00Z" }),
      // Same day as batch 1: its files join batch 1's partition.
      await snowplowBatch(lake, "batch2", { seed: 2, start: "2024-03-01T06:00:00Z" }),
      // Shredded: one more column per context and unstruct schema.
      await snowplowBatch(lake, "batch3", {
        seed: 3,
        start: "2024-03-02T00:00:00Z",
        reader: { shred: true },
      }),
    ];
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
      const runs = await Promise.all([
        ordersRun(lake, "left", 11, APPEND),
        ordersRun(lake, "right", 12, APPEND),
      ]);
      await Promise.all(runs.map((r) => runUntilValidated(lake, r.file)));
      const results = await Promise.all(
        runs.map((r) => run(["step", "4", "--config", r.file, "--json"], lake.dir, lake.env)),
      );
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const versions = results.map((r) => JSON.parse(r.stdout).version).sort();
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
      ...pauseEnv(pause, "link", /[/\\]_delta_log[/\\]\d{20}\.json$/),
    });
    const ended = overwrite.done.then(() => true);
    while (pausedPaths(pause).length === 0) {
      expect(await Promise.race([ended, new Promise((ok) => setTimeout(() => ok(false), 20))])).toBe(false);
    }
    // ...while the append commits version 1.
    const appended = await run(["step", "4", "--config", append.file, "--json"], lake.dir, lake.env);
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
    const refused = await run(["step", "4", "--config", strings.file], lake.dir, lake.env);
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
    const changed = await run(["run", "--config", nightly.file], lake.dir, lake.env);
    expect(changed.code).toBe(2);
    expect(oneLine(changed.stderr)).toMatch(/in: table\.mode\..*--from-step 4-commit/);

    const refused = await run(["reset", "--config", nightly.file, "--from-step", "2.3", "--yes"], lake.dir);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toContain(`"${nightly.projectId}" is committed to the Delta table`);
    expect(oneLine(refused.stderr)).toContain("as version 0");
    expect(checkFiles(localTable(lake), replay(lake))).toBe(nightly.rows); // every file still there

    const reset = await run(["reset", "--config", nightly.file, "--from-step", "4", "--yes"], lake.dir);
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
    const changed = await run(["step", "4", "--config", hive.file], lake.dir, lake.env);
    expect(changed.code).toBe(2);
    expect(oneLine(changed.stderr)).toMatch(/in: table\.format, table\.mode|in: table\.format/);
    expect((await run(["reset", "--config", hive.file, "--from-step", "4", "--yes"], lake.dir)).code).toBe(0);

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

/** Copies every object under an S3 prefix into a local folder, keys as relative paths. */
async function download(prefix: string, folder: string) {
  const storage = createStorage({ s3: testS3Client() });
  for await (const object of storage.list(prefix)) {
    const target = join(folder, object.uri.slice(prefix.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await storage.get(object.uri));
  }
}
