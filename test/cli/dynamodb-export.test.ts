/**
 * A DynamoDB "Export to S3" through the `snaplake` CLI (in this process), on a local folder and on s3rver, as DynamoDB
 * JSON and as ION: the generated export becomes a lake whose rows are the generator's items (compared here,
 * from the items' JavaScript values), validated file by file against the export's itemCounts; a tampered
 * itemCount fails validation naming the file, and a corrupt .json.gz fails its group naming the file and line.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { afterAll, describe, expect, inject, it } from "vitest";
import { Step } from "../../src/steps/catalogue.js";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { joinUri, relativeKey } from "../../src/storage/uri.js";
import { generateDynamoDbExport, itemKey, type NativeItem } from "../../src/testing/dynamodb-export.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { snaplake } from "../support/cli.js";
import { createTestBucket, testDynamoClient, testS3Client, uniqueName } from "../support/clients.js";

interface Place {
  name: string;
  storage: Storage;
  /** Folder URI of this test's data (export, staging, lake). */
  base: string;
  /** Folder holding the config file (and, locally, everything else). */
  dir: string;
  /** `aws` settings of the config, and the environment the binary runs with. */
  aws: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function localPlace(): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), "snaplake-ddb-cli-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return {
    name: "local",
    storage: createStorage({ localRoot: dir }),
    base: `file://${dir}/`,
    dir,
    aws: { region: "us-east-1" },
    env: { AWS_ACCESS_KEY_ID: "snaplaketest", AWS_SECRET_ACCESS_KEY: "snaplaketest" },
  };
}

async function s3Place(): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), "snaplake-ddb-cli-s3-"));
  const client = testS3Client();
  const bucket = await createTestBucket(client, "ddb-export");
  cleanups.push(async () => {
    client.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    name: "s3rver",
    storage: createStorage({ s3: client }),
    base: `s3://${bucket}/`,
    dir,
    aws: { region: "us-east-1", s3Endpoint: inject("servers").s3, forcePathStyle: true },
    // s3rver accepts only its own key pair; dynalite takes any.
    env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
  };
}

/**
 * A project on the export at `exportFolder`, partitioned by `kind`, tracked in a fresh dynalite table.
 * `targetFileGroupSize` weighs a group's files by their inflated size.
 */
async function writeProject(
  place: Place,
  exportFolder: string,
  name: string,
  targetFileGroupSize = "1MB",
): Promise<string> {
  const tableName = uniqueName("ddb-tasks");
  const dynalite = inject("servers").dynalite;
  await new DynamoTracker({ client: testDynamoClient(dynalite), tableName }).createTable();
  const config = {
    projectId: uniqueName(name),
    snapshot: { dynamodbExport: exportFolder },
    reader: { format: "dynamodb-export" },
    stagingUri: joinUri(place.base, `${name}/staging/`),
    datalakeUri: joinUri(place.base, `${name}/lake/`),
    partitionKeys: ["kind"],
    sortBy: ["pk", "sk"],
    targetFileGroupSize,
    tracker: { tableName, leaseSeconds: 60, maxAttempts: 1 },
    aws: { ...place.aws, dynamodbEndpoint: dynalite },
  };
  const path = join(place.dir, `${name}.config.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** Every row of the lake, with its partition column back from the folder name. */
async function lakeRows(storage: Storage, lake: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for await (const object of storage.list(lake)) {
    if (!object.uri.endsWith(".parquet")) continue;
    const kind = /^kind=([^/]+)\//.exec(relativeKey(lake, object.uri))![1]!;
    const frame = pl.readParquet(await storage.get(object.uri));
    for (const row of frame.toRecords()) rows.push({ ...row, kind });
  }
  return rows;
}

/** Top-level attributes compared value by value (numbers, strings, booleans; sparse ones null where absent). */
const SCALARS = ["version", "name", "age", "balance", "active", "nickname", "total", "quantity", "reading"];
const plain = (value: unknown) => (typeof value === "bigint" ? Number(value) : (value ?? null));

// 20k items in 16 files (about 0.4 MB of JSON lines each once inflated). With 256 KB groups every file is a
// step-1.3 group of its own and each of the 3 kinds gets one compaction group: the same run, task for task,
// as the 200k items with 1 MB groups (16 groups, 3 compaction groups, 3 lake files), at a tenth of
// the data. Ten times the data proves throughput and memory, which bench/dynamodb-export.ts measures (100 MB
// by default); 1 MB groups (two files a group) run on s3rver and as ION.
describe.each([
  ["local", "DYNAMODB_JSON", "256KB", 16, localPlace],
  ["s3rver", "DYNAMODB_JSON", "1MB", 7, s3Place],
  ["local", "ION", "1MB", 5, localPlace],
] as const)(
  "snaplake run on a DynamoDB export (%s, %s, %s groups)",
  (_name, outputFormat, groupSize, snapshotGroups, makePlace) => {
    const ITEMS = 20_000;
    it(`turns an export of 16 files into a validated lake whose rows are the items`, async () => {
      const place = await makePlace();
      const generated = await generateDynamoDbExport(place.storage, {
        baseUri: joinUri(place.base, "exports/"),
        itemCount: ITEMS,
        fileCount: 16,
        seed: 7,
        outputFormat,
      });
      expect(
        generated.files.every((f) => f.uri.endsWith(outputFormat === "ION" ? ".ion.gz" : ".json.gz")),
      ).toBe(true);
      const config = await writeProject(place, generated.folder, "full", groupSize);

      const run = await snaplake(["run", "--config", config], place.env);
      expect(run.stderr).not.toContain('"level":50');
      expect(run.code).toBe(0);

      const validate = await snaplake(["validate", "--config", config, "--json"], place.env);
      expect(validate.code).toBe(0);
      const result = JSON.parse(validate.stdout);
      expect(result.ok).toBe(true);
      expect(result.snapshot).toMatchObject({ files: 16, rows: ITEMS });
      expect(result.lake.rows).toBe(ITEMS);
      // Task for task the run the case stands for: its step-1.3 groups, one compaction group per kind.
      const { projectId, tracker } = JSON.parse(readFileSync(config, "utf8"));
      const client = testDynamoClient(inject("servers").dynalite);
      const tasks = new DynamoTracker({ client, tableName: tracker.tableName });
      expect(await tasks.counts(projectId, Step.snapshotToStaging)).toMatchObject({
        succeeded: snapshotGroups,
      });
      expect(await tasks.counts(projectId, Step.compact)).toMatchObject({ succeeded: 3 });
      client.destroy();

      const items = new Map<string, NativeItem>(
        generated.files.flatMap((f) => f.items.map((i) => [itemKey(i), i])),
      );
      const rows = await lakeRows(place.storage, joinUri(place.base, "full/lake/"));
      expect(rows).toHaveLength(items.size);
      const seen = new Set<string>();
      for (const row of rows) {
        const key = `${row.pk}|${row.sk}`;
        const item = items.get(key);
        expect(item, key).toBeDefined();
        seen.add(key);
        expect(row.kind, key).toBe(item!.kind);
        for (const attribute of SCALARS)
          expect(plain(row[attribute]), `${key} ${attribute}`).toBe(plain(item![attribute]));
      }
      expect(seen.size).toBe(items.size);
    }, 600_000);
  },
);

describe("snaplake on a DynamoDB export that doesn't add up", () => {
  it("fails validation naming the file whose itemCount the manifest overstates by one", async () => {
    const place = await localPlace();
    const generated = await generateDynamoDbExport(place.storage, {
      baseUri: joinUri(place.base, "exports/"),
      itemCount: 1_000,
      fileCount: 4,
      seed: 3,
    });
    const manifestUri = joinUri(generated.folder, "manifest-files.json");
    const lines = (await place.storage.get(manifestUri)).toString("utf8").trim().split("\n");
    const entry = JSON.parse(lines[2]!);
    entry.itemCount += 1;
    lines[2] = JSON.stringify(entry);
    await place.storage.put(manifestUri, `${lines.join("\n")}\n`);
    const tampered = joinUri(generated.folder, entry.dataFileS3Key.replace(/^.*\/data\//, "data/"));
    const config = await writeProject(place, generated.folder, "tampered");

    const run = await snaplake(["run", "--config", config], place.env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `snapshot file ${tampered}: the snapshot manifest counts ${entry.itemCount} rows but step 1.3 read ${entry.itemCount - 1}`,
    );
    // Only that file is off.
    expect(run.stderr.match(/snapshot file \S+: the snapshot manifest counts/g)).toHaveLength(1);
  }, 300_000);

  it("fails the group of a corrupt .json.gz, naming the file and the line the damage starts on", async () => {
    const place = await localPlace();
    const generated = await generateDynamoDbExport(place.storage, {
      baseUri: joinUri(place.base, "exports/"),
      itemCount: 400,
      fileCount: 2,
      seed: 5,
    });
    // The first 10 lines inflate whole (sync-flushed), then a deflate block of an invalid type: the damage
    // starts on line 11. The manifest gets the new file's etag and MD5, as if AWS had written it so.
    const victim = generated.files[1]!;
    const head = gzipSync(
      victim.items
        .slice(0, 10)
        .map((item) => `${JSON.stringify({ Item: { pk: { S: item.pk }, sk: { S: item.sk } } })}\n`)
        .join(""),
      { finishFlush: constants.Z_SYNC_FLUSH },
    );
    const corrupt = Buffer.concat([head, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const put = await place.storage.put(victim.uri, corrupt);
    const manifestUri = joinUri(generated.folder, "manifest-files.json");
    const name = victim.uri.slice(victim.uri.lastIndexOf("/") + 1);
    const lines = (await place.storage.get(manifestUri))
      .toString("utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const entry = JSON.parse(line);
        if (!entry.dataFileS3Key.endsWith(name)) return line;
        const md5Checksum = createHash("md5").update(corrupt).digest("base64");
        return JSON.stringify({ ...entry, etag: put.etag, md5Checksum });
      });
    await place.storage.put(manifestUri, `${lines.join("\n")}\n`);
    const config = await writeProject(place, generated.folder, "corrupt");

    const run = await snaplake(["run", "--config", config], place.env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${victim.uri} line 11: corrupt gzip data from this line on`);
  }, 300_000);

  const jsonLine = (item: NativeItem) => JSON.stringify({ Item: { pk: { S: item.pk }, sk: { S: item.sk } } });
  const ionLine = (item: NativeItem) =>
    `$ion_1_0 {Item:{pk:${JSON.stringify(item.pk)},sk:${JSON.stringify(item.sk)}}}`;
  it.each([
    [
      "a line that is not DynamoDB JSON",
      "DYNAMODB_JSON",
      '{"pk":"CUSTOMER#1","sk":"PROFILE"}',
      "not a DynamoDB export item",
    ],
    [
      "an unknown type descriptor",
      "DYNAMODB_JSON",
      '{"Item":{"pk":{"S":"CUSTOMER#1"},"sk":{"S":"PROFILE"},"score":{"DEC":"1.5"}}}',
      '"score" has an unknown type descriptor "DEC"',
    ],
    ["an ION line cut short", "ION", '$ion_1_0 {Item:{pk:"CUSTOMER#1",sk:"PRO', "not Ion text"],
    [
      "an ION value with no DynamoDB type",
      "ION",
      '$ion_1_0 {Item:{pk:"CUSTOMER#1",sk:"PROFILE",seen:2024-06-01T}}',
      "Item.seen: Ion timestamp has no DynamoDB type",
    ],
  ] as const)(
    "fails the group of %s (%s), naming the file and line",
    async (_name, outputFormat, badLine, problem) => {
      const place = await localPlace();
      const generated = await generateDynamoDbExport(place.storage, {
        baseUri: joinUri(place.base, "exports/"),
        itemCount: 200,
        fileCount: 2,
        seed: 6,
        outputFormat,
      });
      // Line 4 of the second file replaced; the manifest gets the new file's etag and MD5, as if AWS wrote it.
      const victim = generated.files[1]!;
      const text = victim.items.map(outputFormat === "ION" ? ionLine : jsonLine);
      text[3] = badLine;
      const body = gzipSync(`${text.join("\n")}\n`);
      const put = await place.storage.put(victim.uri, body);
      const manifestUri = joinUri(generated.folder, "manifest-files.json");
      const name = victim.uri.slice(victim.uri.lastIndexOf("/") + 1);
      const lines = (await place.storage.get(manifestUri))
        .toString("utf8")
        .trim()
        .split("\n")
        .map((line) => {
          const entry = JSON.parse(line);
          if (!entry.dataFileS3Key.endsWith(name)) return line;
          const md5Checksum = createHash("md5").update(body).digest("base64");
          return JSON.stringify({ ...entry, etag: put.etag, md5Checksum });
        });
      await place.storage.put(manifestUri, `${lines.join("\n")}\n`);
      const config = await writeProject(place, generated.folder, "bad-line");

      const run = await snaplake(["run", "--config", config], place.env);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${victim.uri} line 4: ${problem}`);
      // Bad data fails for good at once: retrying can't fix it.
      expect(run.stderr).toMatch(/"status":"ignored","attempt":1,.*"retryable":false/);
    },
    300_000,
  );
});
