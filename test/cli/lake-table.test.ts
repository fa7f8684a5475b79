/**
 * Runs that share one lake, through the `snaplake` CLI in this process on local folders (tracker on
 * dynalite):
 * Delta append and overwrite checked with the log reader written from the protocol text, and a hive lake
 * that a second project appends into; the nightly overwrite again on s3rver with the DynamoDB commit table
 * (the table copied to a local folder for the reader).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { relativeKey } from "../../src/storage/uri.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { snaplake } from "../support/cli.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "../support/clients.js";
import { checkFiles, replayLog } from "../table/delta/independent-reader.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function lakeDir() {
  const dir = mkdtempSync(join(tmpdir(), "snaplake-lake-"));
  dirs.push(dir);
  const tableName = uniqueName("lake-tasks");
  await new DynamoTracker({ client: testDynamoClient(inject("servers").dynalite), tableName }).createTable();
  return { dir, tableName };
}

/** Where a lake's data lives: beside the configs (`./`), or in an s3rver bucket. */
interface Place {
  base: string;
  storage: Storage;
  aws: Record<string, unknown>;
}

/**
 * One night's (or batch's) orders snapshot and a project config that writes it into `lake/` (under the
 * config's folder by default).
 */
async function addRun(
  lake: { dir: string; tableName: string },
  name: string,
  seed: number,
  table: Record<string, unknown>,
  place: Place = { base: "./", storage: createStorage({ localRoot: lake.dir }), aws: {} },
) {
  const base = place.base === "./" ? `${lake.dir}/` : place.base;
  const snapshot = await writeOrdersSnapshot(place.storage, `${base}${name}/snapshot/`, {
    rows: 300,
    files: 2,
    seed,
  });
  const config = {
    projectId: uniqueName(name),
    snapshot: { uri: `${place.base}${name}/snapshot/` },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    stagingUri: `${place.base}${name}/staging/`,
    datalakeUri: `${place.base}lake/`,
    partitionKeys: ["year"],
    sortBy: ["order_time", "order_id"],
    targetParquetFileSize: "64KB",
    table,
    tracker: { tableName: lake.tableName, leaseSeconds: 60, maxAttempts: 2 },
    aws: { region: "us-east-1", dynamodbEndpoint: inject("servers").dynalite, ...place.aws },
  };
  const file = join(lake.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return { file, rows: snapshot.rows, projectId: config.projectId };
}

const tableRows = (dir: string, version?: number) => {
  const table = replayLog(join(dir, "lake"), version);
  return { table, rows: checkFiles(join(dir, "lake"), table) };
};

describe("runs sharing one lake", () => {
  it("Delta append: each run adds one commit holding its rows; a re-run adds nothing", async () => {
    const lake = await lakeDir();
    const batches = [];
    for (const [i, seed] of [11, 12].entries()) {
      const batch = await addRun(lake, `batch${i + 1}`, seed, { format: "delta", mode: "append" });
      batches.push(batch);
      const result = await snaplake(["run", "--config", batch.file, "--json"]);
      expect(result.stderr, result.stderr).not.toContain("FAILED");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).commit).toMatchObject({
        format: "delta",
        version: i,
        committed: true,
      });
      const { table, rows } = tableRows(lake.dir);
      expect(table.version).toBe(i);
      expect(rows).toBe(batches.reduce((n, b) => n + b.rows, 0));
      expect(table.txns.get(batch.projectId)?.version).toBe(i);
      expect(table.metaData.partitionColumns).toEqual(["year"]);
    }
    // Batch 1 again, end to end, and its step 4 on its own: the table already holds its commit.
    const again = await snaplake(["run", "--config", batches[0]!.file, "--json"]);
    expect(again.code).toBe(0);
    const step4 = await snaplake(["step", "commit", "--config", batches[0]!.file, "--json"]);
    expect(step4.code).toBe(0);
    expect(tableRows(lake.dir).table.version).toBe(1);

    // Reading the table's history and files and vacuuming need no process of their own: in this one.
    const history = await snaplake(["table", "history", join(lake.dir, "lake"), "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toMatchObject(
      batches.map((b, version) => ({ version, projectId: b.projectId, rowsAdded: b.rows, filesRemoved: 0 })),
    );
    const files = await snaplake(["table", "files", join(lake.dir, "lake"), "--version", "0", "--json"]);
    expect(files.code, files.stderr).toBe(0);
    const listed = JSON.parse(files.stdout);
    expect(listed.files.map((f: { path: string }) => f.path).sort()).toEqual(
      [...tableRows(lake.dir, 0).table.files.keys()].sort(),
    );
    expect(listed.files.reduce((n: number, f: { rows: number }) => n + f.rows, 0)).toBe(batches[0]!.rows);
  });

  it("Delta overwrite: the latest version holds only the second night, version 0 still the first", async () => {
    const lake = await lakeDir();
    const night1 = await addRun(lake, "night1", 21, { format: "delta", mode: "overwrite" });
    const night2 = await addRun(lake, "night2", 22, { format: "delta", mode: "overwrite" });
    for (const night of [night1, night2]) {
      const result = await snaplake(["run", "--config", night.file]);
      expect(result.code, result.stderr).toBe(0);
    }
    const latest = tableRows(lake.dir);
    expect(latest.table.version).toBe(1);
    expect(latest.rows).toBe(night2.rows);
    expect(latest.table.commits[1]!.some((action) => action.remove)).toBe(true);
    expect(
      [...latest.table.files.keys()].every((path) => !tableRows(lake.dir, 0).table.files.has(path)),
    ).toBe(true);
    expect(tableRows(lake.dir, 0).rows).toBe(night1.rows);

    // Vacuum lists the first night's files (removed by version 1), deletes them only with --yes.
    const night1Files = [...tableRows(lake.dir, 0).table.files.keys()];
    const listed = await snaplake(["vacuum", join(lake.dir, "lake"), "--retain", "0m", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ deleted: false });
    expect(JSON.parse(listed.stdout).files).toHaveLength(night1Files.length);
    expect(night1Files.every((path) => existsSync(join(lake.dir, "lake", decodeURIComponent(path))))).toBe(
      true,
    );
    expect((await snaplake(["vacuum", join(lake.dir, "lake"), "--retain", "0m", "--yes"])).code).toBe(0);
    expect(night1Files.some((path) => existsSync(join(lake.dir, "lake", decodeURIComponent(path))))).toBe(
      false,
    );
    expect(tableRows(lake.dir).rows).toBe(night2.rows);
  });

  it("a validation that fails leaves the Delta table untouched, and step 4 refuses", async () => {
    const lake = await lakeDir();
    const batch = await addRun(lake, "batch", 31, { format: "delta" });
    expect((await snaplake(["step", "3", "--config", batch.file])).code).not.toBe(0);
    const commit = await snaplake(["step", "4", "--config", batch.file]);
    expect(commit.code).toBe(1);
    expect(commit.stderr).toContain("no passed validation");
    expect(existsSync(join(lake.dir, "lake", "_delta_log"))).toBe(false);
  });

  it("hive: a second project appends into the same lake and both validate", async () => {
    const lake = await lakeDir();
    const first = await addRun(lake, "p1", 41, {});
    const second = await addRun(lake, "p2", 42, {});
    for (const project of [first, second]) {
      const result = await snaplake(["run", "--config", project.file, "--json"]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary.validation.lake.rows).toBe(project.rows);
      expect(summary.commit).toMatchObject({ format: "hive", committed: false });
    }
    const revalidate = await snaplake(["validate", "--config", first.file]);
    expect(revalidate.code, revalidate.stdout).toBe(0);
  });
});

describe("a Delta table on s3rver, commits through the DynamoDB commit table", () => {
  const s3 = testS3Client();
  afterAll(() => s3.destroy());
  // s3rver accepts only its own key pair; dynalite takes any.
  const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

  /** The table's objects copied into `{dir}/lake/`, for the reader written from the protocol text. */
  async function copyToFolder(storage: Storage, lakeUri: string, dir: string): Promise<void> {
    const local = createStorage({ localRoot: dir });
    for await (const object of storage.list(lakeUri))
      await local.put(join(dir, "lake", relativeKey(lakeUri, object.uri)), await storage.get(object.uri));
  }

  it("overwrite: the latest version holds only the second night, version 0 still the first", async () => {
    const lake = await lakeDir();
    const place: Place = {
      base: `s3://${await createTestBucket(s3, "lake-table")}/`,
      storage: createStorage({ s3 }),
      aws: { s3Endpoint: inject("servers").s3, forcePathStyle: true },
    };
    const table = {
      format: "delta",
      mode: "overwrite",
      logStore: { type: "dynamodb", tableName: uniqueName("delta-log") },
    };
    const nights = [
      await addRun(lake, "night1", 51, table, place),
      await addRun(lake, "night2", 52, table, place),
    ];
    for (const night of nights) {
      const result = await snaplake(["run", "--config", night.file], env);
      expect(result.code, result.stderr).toBe(0);
    }
    // Night 2 again: its commit is recognised, no version 2.
    expect((await snaplake(["run", "--config", nights[1]!.file], env)).code).toBe(0);

    await copyToFolder(place.storage, `${place.base}lake/`, lake.dir);
    const latest = tableRows(lake.dir);
    expect(latest.table.version).toBe(1);
    expect(latest.rows).toBe(nights[1]!.rows);
    expect(latest.table.txns.get(nights[1]!.projectId)?.version).toBe(1);
    expect(latest.table.commits[1]!.filter((action) => action.remove)).toHaveLength(
      tableRows(lake.dir, 0).table.files.size,
    );
    expect(tableRows(lake.dir, 0).rows).toBe(nights[0]!.rows);
  });
});
