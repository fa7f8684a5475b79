/**
 * End-to-end lake tests through the built CLI, shared by the Delta and Iceberg suites: a lake on a local
 * folder or on s3rver with the DynamoDB commit table (tracker on dynalite), config files written into it,
 * Snowplow batches and orders snapshots as projects, steps 0 to 3 run in-process (step 4 is what the
 * suites run through the CLI: in this process with lakeCli, or the built binary where processes race or
 * are killed), and an S3 prefix copied to a local folder for the readers.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { expect, inject } from "vitest";
import { loadConfigFile } from "../../src/cli/config-file.js";
import { createConfiguredProject } from "../../src/configured-project.js";
import { openRuntime } from "../../src/runtime.js";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { writeEnrichedArchive } from "../../src/snowplow/generator.js";
import { Step } from "../../src/steps/catalogue.js";
import { createStorage } from "../../src/storage/create.js";
import { createDeltaLogTable } from "../../src/table/delta/index.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { runBuiltCli as run, snaplake } from "./cli.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "./clients.js";
import { tempDir } from "./temp-dir.js";

// The in-process steps use the standard credential chain: s3rver accepts only its own key pair, dynalite any.
process.env.AWS_ACCESS_KEY_ID = "S3RVER";
process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";

/** event_id is the 7th field of an enriched event (Snowplow's canonical TSV order). */
const EVENT_ID_FIELD = 6;

export interface Lake {
  dir: string;
  trackerTable: string;
  /** Where the lake lives, as the configs name it (a local `./lake/` or an s3:// URI). */
  datalakeUri: string;
  /** Settings every config of this lake shares (the S3 endpoint and log store on s3rver). */
  shared: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

export async function localLake(): Promise<Lake> {
  const dir = tempDir("snaplake-lake-e2e-");
  const trackerTable = uniqueName("lake-e2e");
  await new DynamoTracker({
    client: testDynamoClient(inject("servers").dynalite),
    tableName: trackerTable,
  }).createTable();
  return { dir, trackerTable, datalakeUri: "./lake/", shared: {}, env: {} };
}

/** A lake on s3rver whose commits go through the DynamoDB commit table on dynalite. */
export async function s3Lake(): Promise<Lake & { bucket: string }> {
  const lake = await localLake();
  const bucket = await createTestBucket(testS3Client(), "lake-e2e");
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

export function writeConfig(lake: Lake, name: string, config: Record<string, unknown>) {
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
export async function snowplowBatch(
  lake: Lake,
  name: string,
  options: { seed: number; start: string; table: Record<string, unknown>; reader?: Record<string, unknown> },
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
    table: options.table,
  });
  return { ...config, eventIds: archiveEventIds(root) };
}

/**
 * The three appended batches of the table e2e tests: batch 2 on batch 1's day (its files join batch 1's
 * partition), batch 3 a day later and shredded (one more column per context and unstruct schema).
 */
export async function threeSnowplowBatches(lake: Lake, table: Record<string, unknown>) {
  return [
    await snowplowBatch(lake, "batch1", { seed: 1, start: "2024-03-01T00:00:00Z", table }),
    await snowplowBatch(lake, "batch2", { seed: 2, start: "2024-03-01T06:00:00Z", table }),
    await snowplowBatch(lake, "batch3", {
      seed: 3,
      start: "2024-03-02T00:00:00Z",
      table,
      reader: { shred: true },
    }),
  ];
}

/**
 * Two order runs made and validated side by side, then committed by two `step 4` processes started at the
 * same moment; each process exited 0. Returns the runs and the versions their commits report.
 */
export async function twoConcurrentCommits(lake: Lake, table: Record<string, unknown>) {
  const runs = await Promise.all([ordersRun(lake, "left", 11, table), ordersRun(lake, "right", 12, table)]);
  await Promise.all(runs.map((r) => runUntilValidated(lake, r.file)));
  const results = await Promise.all(
    runs.map((r) => run(["step", "4", "--config", r.file, "--json"], lake.dir, lake.env)),
  );
  for (const result of results) expect(result.code, result.stderr).toBe(0);
  const versions = results.map((r) => JSON.parse(r.stdout).version as number).sort();
  return { runs, versions };
}

/** Every event_id in an enriched archive, read as plain text (gzip or not), sorted. */
export function archiveEventIds(root: string): string[] {
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
export async function ordersRun(
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
export async function runUntilValidated(lake: Lake, file: string) {
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

/**
 * `snaplake` in this process, as if started in the lake's folder: an argument naming a file or folder there
 * (a config file, "lake") is given as its path.
 */
export function lakeCli(lake: Lake, args: string[]) {
  return snaplake(
    args.map((arg) => (existsSync(join(lake.dir, arg)) ? join(lake.dir, arg) : arg)),
    lake.env,
  );
}

export async function runAll(lake: Lake, file: string) {
  const result = await lakeCli(lake, ["run", "--config", file, "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** Copies every object under an S3 prefix into a local folder, keys as relative paths. */
export async function download(prefix: string, folder: string) {
  const storage = createStorage({ s3: testS3Client() });
  for await (const object of storage.list(prefix)) {
    const target = join(folder, object.uri.slice(prefix.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await storage.get(object.uri));
  }
}
