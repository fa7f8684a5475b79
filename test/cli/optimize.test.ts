/**
 * `snaplake optimize` and `snaplake vacuum` through the CLI (in this process; the built binary where a
 * process races or is killed), on local folders and on s3rver with the DynamoDB commit table (dynalite): ten small appends (ten writers' commits) are bin-packed per
 * partition into ceil(bytes / target) files holding the same rows, in one OPTIMIZE commit; vacuum then
 * removes exactly the files no version references. Every check reads the table with the log reader
 * written from the protocol text (a local copy of the table, for S3).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { joinUri, relativeKey } from "../../src/storage/uri.js";
import { createDeltaLogTable, type DeltaLogStore, DynamoDbLogStore } from "../../src/table/delta/index.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { snaplake, startBuiltCli, stderrLines } from "../support/cli.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "../support/clients.js";
import { appendOrdersBatch, ordersBatch, STATUSES } from "../support/delta-appends.js";
import { tempDir } from "../support/temp-dir.js";
import { checkFiles, type ReplayedTable, replayLog } from "../table/delta/independent-reader.js";

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Place {
  name: string;
  dir: string;
  storage: Storage;
  /** The table's URI (file:// or s3://), without a trailing slash. */
  lake: string;
  /** The table's folder on disk, for a local lake. */
  lakeDir?: string;
  aws: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  logStore?: { config: { type: "dynamodb"; tableName: string }; store: DeltaLogStore };
}

function localPlace(): Place {
  const dir = tempDir("snaplake-optimize-");
  return {
    name: "local folders",
    dir,
    storage: createStorage(),
    lake: `file://${dir}/lake`,
    lakeDir: join(dir, "lake"),
    aws: { region: "us-east-1" },
    env: {},
  };
}

async function s3Place(): Promise<Place> {
  const dir = tempDir("snaplake-optimize-s3-");
  const s3 = testS3Client();
  const dynamodb = testDynamoClient(inject("servers").dynalite);
  cleanups.push(() => {
    s3.destroy();
    dynamodb.destroy();
  });
  const storage = createStorage({ s3 });
  const tableName = uniqueName("delta-log");
  await createDeltaLogTable(dynamodb, tableName);
  return {
    name: "s3rver + dynalite",
    dir,
    storage,
    lake: `s3://${await createTestBucket(s3, "optimize")}/lake`,
    aws: { region: "us-east-1", s3Endpoint: inject("servers").s3, forcePathStyle: true },
    env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
    logStore: {
      config: { type: "dynamodb", tableName },
      store: new DynamoDbLogStore({ storage, client: dynamodb, tableName }),
    },
  };
}

async function appendBatch(place: Place, seed: number): Promise<void> {
  await appendOrdersBatch(place.storage, place.lake, seed, place.logStore?.store);
}

/** The table's folder on disk: the lake itself, or for S3 a fresh local copy of every object under it. */
async function localTable(place: Place): Promise<string> {
  if (place.lakeDir) return place.lakeDir;
  const copy = tempDir("snaplake-optimize-copy-");
  for await (const object of place.storage.list(`${place.lake}/`)) {
    const path = join(copy, relativeKey(`${place.lake}/`, object.uri));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await place.storage.get(object.uri));
  }
  return copy;
}

/** Every row of the replayed table, with its partition column, in one canonical order. */
function sortedRows(dir: string, table: ReplayedTable): pl.DataFrame {
  const frames = [...table.files.values()].map((add) =>
    pl
      .readParquet(join(dir, decodeURIComponent(add.path)))
      .withColumns(pl.lit(add.partitionValues.status).alias("status")),
  );
  return pl.concat(frames).sort(["order_id", "order_time", "updated_at", "customer_id", "amount", "status"]);
}

function byPartition(table: ReplayedTable): Map<string, Array<{ path: string; size: number }>> {
  const partitions = new Map<string, Array<{ path: string; size: number }>>();
  for (const add of table.files.values()) {
    const key = add.partitionValues.status as string;
    partitions.set(key, [...(partitions.get(key) ?? []), { path: add.path, size: add.size }]);
  }
  return partitions;
}

/** A maintenance project's config over the place's table; the tracker is a dynalite table, or the embedded one. */
async function writeConfig(
  place: Place,
  targetParquetFileSize: number,
  tracker: "table" | "embedded" = "table",
): Promise<{ file: string; projectId: string }> {
  const tableName = uniqueName("optimize-tasks");
  const dynalite = inject("servers").dynalite;
  if (tracker === "table")
    await new DynamoTracker({ client: testDynamoClient(dynalite), tableName }).createTable();
  const config = {
    projectId: uniqueName("maintenance"),
    snapshot: { uri: "./unused-snapshot/" },
    reader: { format: "parquet" },
    stagingUri: "./staging/",
    datalakeUri: place.lake,
    partitionKeys: ["status"],
    sortBy: ["status", "order_time", "order_id"],
    targetParquetFileSize,
    table: {
      format: "delta",
      mode: "append",
      ...(place.logStore ? { logStore: place.logStore.config } : {}),
    },
    tracker: { ...(tracker === "table" ? { tableName } : {}), leaseSeconds: 60, maxAttempts: 2 },
    aws: { ...place.aws, ...(tracker === "table" ? { dynamodbEndpoint: dynalite } : {}) },
  };
  const file = join(place.dir, "maintenance.json");
  writeFileSync(file, JSON.stringify(config));
  return { file, projectId: config.projectId };
}

describe.each([
  ["local folders", async () => localPlace()],
  ["s3rver + dynalite", s3Place],
])("optimize and vacuum on %s", (_name, makePlace) => {
  it("packs ten appends into ceil(bytes / target) files per partition with the same rows; vacuum keeps only referenced files", async () => {
    const place = await makePlace();
    for (let seed = 1; seed <= 10; seed++) await appendBatch(place, seed);
    const beforeDir = await localTable(place);
    const before = replayLog(beforeDir);
    expect(before.version).toBe(9);
    const beforeRows = sortedRows(beforeDir, before);
    const largest = Math.max(...[...before.files.values()].map((add) => add.size as number));
    // Every file is well under the target (3/4 of it), so every file is packed.
    const target = Math.ceil(largest * 3.4);
    const { file: config } = await writeConfig(place, target);

    const optimized = await snaplake(["optimize", "--config", config, "--json"], place.env);
    expect(optimized.code, optimized.stderr).toBe(0);
    const summary = JSON.parse(optimized.stdout);
    expect(summary.plans).toHaveLength(1);
    expect(summary.plans[0]).toMatchObject({
      readVersion: 9,
      filesRewritten: 50,
      commit: { format: "delta", version: 10, committed: true, filesRemoved: 50, superseded: false },
    });

    const afterDir = await localTable(place);
    const after = replayLog(afterDir);
    expect(after.version).toBe(10);
    const commit = after.commits[10]!;
    expect(commit.find((a) => a.commitInfo)?.commitInfo.operation).toBe("OPTIMIZE");
    const fileActions = commit.filter((a) => a.add || a.remove);
    expect(fileActions.length).toBeGreaterThan(50);
    expect(fileActions.every((a) => (a.add ?? a.remove).dataChange === false)).toBe(true);
    const beforeParts = byPartition(before);
    const afterParts = byPartition(after);
    expect([...afterParts.keys()].sort()).toEqual(STATUSES);
    for (const [status, files] of beforeParts) {
      const bytes = files.reduce((sum, file) => sum + file.size, 0);
      expect(afterParts.get(status), status).toHaveLength(Math.ceil(bytes / target));
    }
    expect(checkFiles(afterDir, after)).toBe(beforeRows.height);
    expect(sortedRows(afterDir, after).frameEqual(beforeRows)).toBe(true);
    // The rewritten files keep the sort order (status, the partition column, is one value per file).
    for (const add of after.files.values()) {
      const frame = pl.readParquet(join(afterDir, decodeURIComponent(add.path)));
      expect(
        frame
          .select("order_time", "order_id")
          .frameEqual(frame.sort(["order_time", "order_id"]).select("order_time", "order_id")),
      ).toBe(true);
    }

    // Nothing small is left: a second optimize plans nothing and commits nothing.
    const again = await snaplake(["optimize", "--config", config, "--json"], place.env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).plans).toEqual([]);
    expect(replayLog(await localTable(place)).version).toBe(10);

    // Vacuum lists exactly the 50 rewritten files (removed by version 10), deletes them only with --yes.
    const removed = [...before.files.keys()]
      .map((path) => joinUri(place.lake, decodeURIComponent(path)))
      .sort();
    const listed = await snaplake(["vacuum", "--config", config, "--retain", "0d", "--json"], place.env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).deleted).toBe(false);
    expect(JSON.parse(listed.stdout).files.sort()).toEqual(removed);
    expect(await place.storage.exists(removed[0]!)).toBe(true);
    const vacuumed = await snaplake(
      ["vacuum", "--config", config, "--retain", "0d", "--yes", "--json"],
      place.env,
    );
    expect(vacuumed.code, vacuumed.stderr).toBe(0);
    expect(JSON.parse(vacuumed.stdout).deleted).toBe(true);
    expect(JSON.parse(vacuumed.stdout).files.sort()).toEqual(removed);
    for (const uri of removed) expect(await place.storage.exists(uri), uri).toBe(false);

    // What is left is the log and the referenced files, which still read as the same rows.
    const finalDir = await localTable(place);
    const final = replayLog(finalDir);
    const dataFiles: string[] = [];
    for await (const object of place.storage.list(`${place.lake}/`)) {
      const key = relativeKey(`${place.lake}/`, object.uri);
      if (!key.startsWith("_delta_log/")) dataFiles.push(key);
    }
    expect(dataFiles.sort()).toEqual([...final.files.keys()].map((path) => decodeURIComponent(path)).sort());
    expect(checkFiles(finalDir, final)).toBe(beforeRows.height);
    expect(sortedRows(finalDir, final).frameEqual(beforeRows)).toBe(true);
  });
});

describe("optimize against concurrent writers", () => {
  it("an append racing optimize: both land, no version lost, every row kept once", async () => {
    const place = localPlace();
    const dir = place.lakeDir!;
    const seeds = [1, 2, 3, 4, 5, 6];
    for (const seed of seeds) await appendBatch(place, seed);
    const largest = Math.max(...[...replayLog(dir).files.values()].map((add) => add.size as number));
    const { file: config } = await writeConfig(place, Math.ceil(largest * 3.4));
    const optimize = startBuiltCli(["optimize", "--config", config, "--json"], place.dir, place.env);
    // Appends keep landing while optimize starts, plans, rewrites and commits.
    let finished = false;
    const done = optimize.done.then((result) => {
      finished = true;
      return result;
    });
    do {
      seeds.push(100 + seeds.length);
      await appendBatch(place, seeds.at(-1)!);
    } while (!finished);
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    const table = replayLog(dir); // contiguous versions: none lost or overwritten
    expect(table.version).toBe(seeds.length); // every append and the optimize
    const optimizes = table.commits.filter((c) => c.some((a) => a.commitInfo?.operation === "OPTIMIZE"));
    expect(optimizes).toHaveLength(1);
    const expected = pl.concat(seeds.map(ordersBatch));
    expect(checkFiles(dir, table)).toBe(expected.height);
    expect(
      sortedRows(dir, table).frameEqual(
        expected
          .select("order_id", "customer_id", "order_time", "updated_at", "amount", "status")
          .sort(["order_id", "order_time", "updated_at", "customer_id", "amount", "status"]),
      ),
    ).toBe(true);
  });

  it("optimize SIGKILLed once its plan is recorded, then run again: one OPTIMIZE commit, the same rows", async () => {
    const place = localPlace();
    const dir = place.lakeDir!;
    for (let seed = 1; seed <= 8; seed++) await appendBatch(place, seed);
    const before = replayLog(dir);
    const beforeRows = sortedRows(dir, before);
    const largest = Math.max(...[...before.files.values()].map((add) => add.size as number));
    // The embedded tracker: a task held by a process that is gone is taken over at once.
    const { file, projectId } = await writeConfig(place, Math.ceil(largest * 3.4), "embedded");
    const plans = join(place.dir, "staging", projectId, "manifests", "optimize");
    const killed = startBuiltCli(["optimize", "--config", file], place.dir);
    await vi.waitFor(() => expect(existsSync(plans) && readdirSync(plans).length > 0).toBe(true), {
      timeout: 60_000,
      interval: 5,
    });
    killed.child.kill("SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");

    const again = await snaplake(["optimize", "--config", file, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const table = replayLog(dir);
    expect(table.version).toBe(8); // versions 0-7 the appends, 8 the one rewrite
    const optimizes = table.commits.filter((c) => c.some((a) => a.commitInfo?.operation === "OPTIMIZE"));
    expect(optimizes).toHaveLength(1);
    expect(checkFiles(dir, table)).toBe(beforeRows.height);
    expect(sortedRows(dir, table).frameEqual(beforeRows)).toBe(true);
    // The plan the killed process recorded is the one carried out.
    expect(JSON.parse(again.stdout).plans.map((p: { taskId: string }) => `${p.taskId}.json`)).toEqual(
      readdirSync(plans),
    );
  });
});

describe("vacuum's arguments", () => {
  it("takes the table's URI or --config, exactly one of them (exit 2 naming both otherwise)", async () => {
    for (const args of [
      ["vacuum", "--retain", "1d"],
      ["vacuum", "lake", "--config", "x.json", "--retain", "1d"],
    ]) {
      const result = await snaplake(args);
      expect(result.code).toBe(2);
      expect(stderrLines(result.stderr).join("\n")).toContain(
        "give either the table's <uri> or --config <file>",
      );
    }
  });
});
