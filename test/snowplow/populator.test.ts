/**
 * The populator as a library on dynalite and DynamoDB Local, and the `snaplake populate-event-manifest`
 * command as users run it: the built binary (dist/, compiled by `npm test`) in a child process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DynamoDBClient, GetItemCommand, paginateScan } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { parseDynamoDbStorageConfig, parseIgluResolverConfig } from "../../src/snowplow/dynamodb-config.js";
import { EventManifest } from "../../src/snowplow/event-manifest.js";
import {
  type PopulateSummary,
  parseEtlTimestamp,
  parseManifestLine,
  populateEventManifest,
  populatorRunsTableName,
} from "../../src/snowplow/populator.js";
import { RunManifests } from "../../src/snowplow/run-manifests.js";
import { createStorage } from "../../src/storage/create.js";
import { builtFile, expectNoStackTrace } from "../support/cli.js";
import {
  createTestBucket,
  dynamoBackends,
  testDynamoClient,
  testS3Client,
  uniqueName,
} from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";
import {
  type ArchiveFileSpec,
  enrichedLine,
  goodLines,
  RESOLVER_CONFIG,
  storageConfig100,
  writeLocalArchive,
  writeS3Archive,
} from "./populator-fixtures.js";

const CLI = builtFile("cli/main.js");
/** The suite shares two cores with other workers: spawned CLIs get time to spare. */
const CLI_TIMEOUT_MS = 180_000;
const SECRET = "Secret0Key0Never0Printed0123456789";
const ACCESS_KEY = "AKIAPOPULATORTEST01";

/** 5 runs; 02-21-00 has the bad lines, gzip by extension and by magic only, a marker and a hidden file. */
const ARCHIVE: ArchiveFileSpec[] = [
  { path: "run=2017-02-20-23-59-59/part-00000", lines: goodLines("a", 5, "2017-02-20 23:59:59.000") },
  { path: "run=2017-02-21-00-00-00/part-00000.gz", lines: goodLines("b", 4), gzip: true },
  {
    path: "run=2017-02-21-00-00-00/part-00001",
    lines: [
      enrichedLine({ eventId: "bad-1", etlTstamp: "2017-02-21 00:00:01.000" }), // no fingerprint
      enrichedLine({ fingerprint: "fp", etlTstamp: "2017-02-21 00:00:01.000" }), // no event_id
      "",
      enrichedLine({ eventId: "bad-3", fingerprint: "fp", etlTstamp: "" }),
      enrichedLine({ eventId: "bad-4", fingerprint: "fp", fieldCount: 130 }),
      enrichedLine({ eventId: "bad-5", fingerprint: "fp", etlTstamp: "yesterday" }),
      "not a tsv line at all",
      enrichedLine({ eventId: "good-c", fingerprint: "fp-c" }),
    ],
  },
  { path: "run=2017-02-21-00-00-00/_SUCCESS", content: "" },
  { path: "run=2017-02-21-00-00-00/.part-00002.crc", content: "junk\n" },
  // gzip without a gzip extension (found by the magic bytes), and a *.gzip file (pre-R83).
  { path: "run=2017-02-21-11-40-15/part-00000", lines: goodLines("d", 3), gzip: true },
  { path: "run=2017-02-21-11-40-15/part-00001.gzip", lines: goodLines("e", 2), gzip: true },
  // Stream-enrich staging: *.gz files without the part- prefix; b-0 again with a later etl_tstamp.
  {
    path: "run=2017-02-22-00-00-00/2017-02-22-00-00-00-shard-0001.gz",
    lines: [
      ...goodLines("f", 3),
      enrichedLine({ eventId: "b-0", fingerprint: "fp-0", etlTstamp: "2017-02-22 00:00:00.000" }),
    ],
    gzip: true,
  },
  { path: "run=2017-02-30-00-00-00/part-00000", lines: goodLines("invalid-date", 2) },
  { path: "tmp/part-00000", lines: goodLines("not-a-run", 2) },
];
const BAD_LINES = 6;
/** a:5 b:4 c:1 d:3 e:2 f:3, plus b-0 again. */
const EVENTS = 19;
const UNIQUE = 18;

async function countItems(client: DynamoDBClient, table: string): Promise<number> {
  let count = 0;
  for await (const page of paginateScan(
    { client },
    { TableName: table, Select: "COUNT", ConsistentRead: true },
  )) {
    count += page.Count ?? 0;
  }
  return count;
}

interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: Record<string, string | undefined>): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
      AWS_REGION: "us-east-1",
      NODE_NO_WARNINGS: "1",
      ...env,
    },
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    err += chunk;
  });
  const exited = once(child, "exit").then(([code]) => {
    expectNoStackTrace({ stdout: out, stderr: err }, `snaplake ${args.join(" ")}`);
    return code as number | null;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

describe("populator line and config parsing", () => {
  it("extracts event_id, etl_tstamp (epoch seconds, UTC) and event_fingerprint, or a reason", () => {
    expect(
      parseManifestLine(
        enrichedLine({ eventId: "e", fingerprint: "f", etlTstamp: "2017-02-21 11:40:15.999" }),
      ),
    ).toEqual({ eventId: "e", fingerprint: "f", etlTime: Date.UTC(2017, 1, 21, 11, 40, 15) / 1000 });
    expect(parseManifestLine(enrichedLine({ eventId: "e", fingerprint: "f", fieldCount: 132 }))).toEqual({
      reason: "expected 131 tab-separated fields, found 132",
    });
    expect(parseManifestLine(enrichedLine({ eventId: "e", fingerprint: "x".repeat(1025) }))).toMatchObject({
      reason: expect.stringMatching(/longer than 1024/),
    });
    expect(parseEtlTimestamp("2017-02-21 11:40:15")).toBe(Date.UTC(2017, 1, 21, 11, 40, 15) / 1000);
    // The batch reader's rule: no "T", no zone marker, a real calendar day.
    expect(parseEtlTimestamp("2017-02-21T11:40:15")).toBeNull();
    expect(parseEtlTimestamp("2017-02-21 11:40:15Z")).toBeNull();
    expect(parseEtlTimestamp("2016-02-29 00:00:00")).toBe(Date.UTC(2016, 1, 29) / 1000);
    expect(parseEtlTimestamp("2017-02-21 11:40:15.123456789")).toBe(Date.UTC(2017, 1, 21, 11, 40, 15) / 1000);
    expect(parseEtlTimestamp("2017-02-30 11:40:15.000")).toBeNull();
    expect(parseEtlTimestamp("2017-02-21 24:00:00.000")).toBeNull();
  });

  it("accepts amazon_dynamodb_config 1-0-0, 1-0-1 and 2-0-0 (auth null = default AWS chain)", () => {
    expect(parseDynamoDbStorageConfig(storageConfig100("t1"))).toMatchObject({
      schemaVersion: "1-0-0",
      table: "t1",
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    });
    const v101 = storageConfig100("t2");
    v101.schema = v101.schema.replace("1-0-0", "1-0-1");
    expect(
      parseDynamoDbStorageConfig({
        ...v101,
        data: { ...v101.data, id: "c5f3a09c-75d8-4432-a5c3-2a4c5d1c9a88" },
      }),
    ).toMatchObject({
      schemaVersion: "1-0-1",
      id: "c5f3a09c-75d8-4432-a5c3-2a4c5d1c9a88",
    });
    const v200 = {
      schema: "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/2-0-0",
      data: {
        name: "manifest",
        auth: null,
        awsRegion: "eu-west-1",
        dynamodbTable: "t3",
        id: "c5f3a09c-75d8-4432-a5c3-2a4c5d1c9a88",
        purpose: "EVENTS_MANIFEST",
      },
    };
    expect(parseDynamoDbStorageConfig(v200)).toMatchObject({
      schemaVersion: "2-0-0",
      credentials: null,
      region: "eu-west-1",
    });
    expect(
      parseDynamoDbStorageConfig({
        ...v200,
        data: { ...v200.data, auth: { accessKeyId: "k", secretAccessKey: "s" } },
      }).credentials,
    ).toEqual({ accessKeyId: "k", secretAccessKey: "s" });
  });

  it("names the missing or wrong field and never echoes a value", () => {
    const config = storageConfig100("t");
    const cases: Array<[unknown, RegExp]> = [
      [{ ...config, data: { ...config.data, dynamodbTable: undefined } }, /data\.dynamodbTable/],
      [{ ...config, data: { ...config.data, purpose: "EVENTS_MANIFEST" } }, /data\.purpose/],
      [{ ...config, data: { ...config.data, extra: 1 } }, /extra/],
      [{ ...config, data: { ...config.data, id: "c5f3a09c-75d8-4432-a5c3-2a4c5d1c9a88" } }, /id/], // not in 1-0-0
      [{ ...config, data: { ...config.data, accessKeyId: 42 } }, /data\.accessKeyId/],
      [{ ...config, schema: config.schema.replace("1-0-0", "3-0-0") }, /schema: expected one of/],
      [{ data: config.data }, /schema/],
      [
        {
          schema: "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/2-0-0",
          data: {
            name: "n",
            auth: { accessKeyId: "a" },
            awsRegion: "r",
            dynamodbTable: "t",
            purpose: "EVENTS_MANIFEST",
          },
        },
        /data\.auth\.secretAccessKey.*|data\.id/,
      ],
    ];
    for (const [json, pattern] of cases) {
      let caught: unknown;
      try {
        parseDynamoDbStorageConfig(json);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(pattern)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(pattern);
      expect((caught as Error).message).not.toContain(SECRET);
      expect((caught as Error).message).not.toContain(ACCESS_KEY);
    }
  });

  it("validates the Iglu resolver config structurally", () => {
    expect(parseIgluResolverConfig(RESOLVER_CONFIG).repositories[0]?.name).toBe("Iglu Central");
    const broken = { ...RESOLVER_CONFIG, data: { ...RESOLVER_CONFIG.data, repositories: [{ name: "x" }] } };
    expect(() => parseIgluResolverConfig(broken)).toThrow(/data\.repositories\.0\.priority/);
    expect(() =>
      parseIgluResolverConfig({ ...RESOLVER_CONFIG, schema: "iglu:com.acme/resolver/jsonschema/1-0-0" }),
    ).toThrow(ConfigError);
    const v100 = { ...RESOLVER_CONFIG, schema: RESOLVER_CONFIG.schema.replace("1-0-1", "1-0-0") };
    expect(parseIgluResolverConfig(v100).schemaVersion).toBe("1-0-0");
    const withTtl = { ...RESOLVER_CONFIG, data: { ...RESOLVER_CONFIG.data, cacheTtl: 600 } };
    expect(() => parseIgluResolverConfig(withTtl)).toThrow(/cacheTtl/); // only from 1-0-2
    expect(
      parseIgluResolverConfig({ ...withTtl, schema: RESOLVER_CONFIG.schema.replace("1-0-1", "1-0-3") })
        .schemaVersion,
    ).toBe("1-0-3");
  });
});

describe.each(dynamoBackends())("populateEventManifest on $name", ({ endpoint }) => {
  const client = testDynamoClient(endpoint);
  let root: string;
  afterAll(() => client.destroy());

  beforeAll(async () => {
    root = tempDir("snaplake-populate-");
    await writeLocalArchive(join(root, "archive"), ARCHIVE);
    await writeLocalArchive(join(root, "copy"), ARCHIVE);
  });

  const populate = (
    table: string,
    archive: string,
    extra: Partial<Parameters<typeof populateEventManifest>[0]> = {},
  ) =>
    populateEventManifest({
      archive,
      storageConfig: storageConfig100(table),
      resolverConfig: RESOLVER_CONFIG,
      dynamodb: client,
      concurrency: 4,
      ...extra,
    });

  it("writes every good event of every run, reports bad lines with file and line, and resumes from its runs table", async () => {
    const table = uniqueName("manifest");
    const summary = await populate(table, join(root, "archive"));
    expect(summary.runs).toEqual({ found: 4, selected: 4, processed: 4, alreadyDone: 0, archived: 0 });
    expect(summary.files).toBe(6);
    expect(summary.lines).toBe(EVENTS + BAD_LINES);
    expect(summary.events).toBe(EVENTS);
    expect(summary.written).toBe(UNIQUE);
    expect(summary.duplicates).toBe(1); // b-0 again, with another etl_tstamp
    expect(summary.alreadyPresent).toBe(0);
    expect(summary.badLines).toBe(BAD_LINES);
    const badFile = `file://${root}/archive/run=2017-02-21-00-00-00/part-00001`;
    expect(summary.badLineSamples.map((b) => [b.file, b.line])).toEqual([
      [badFile, 1],
      [badFile, 2],
      [badFile, 4],
      [badFile, 5],
      [badFile, 6],
      [badFile, 7],
    ]);
    expect(summary.badLineSamples[0]?.reason).toBe("event_fingerprint is empty");
    expect(await countItems(client, table)).toBe(UNIQUE);

    // Each event keeps its own etl_tstamp; b-0 keeps the first one.
    const { Item } = await client.send(
      new GetItemCommand({ TableName: table, Key: { eventId: { S: "b-0" }, fingerprint: { S: "fp-0" } } }),
    );
    expect(Item?.etlTime?.N).toBe(String(Date.UTC(2017, 1, 21, 11, 40, 15) / 1000));

    // Finished runs are recorded and skipped next time.
    const runs = new RunManifests(client, populatorRunsTableName(table));
    expect(await runs.contains(`file://${root}/archive/run=2017-02-22-00-00-00/`)).toBe(true);
    const again = await populate(table, join(root, "archive"));
    expect(again.runs).toMatchObject({ processed: 0, alreadyDone: 4 });
    expect(again.written).toBe(0);
    expect(again.lines).toBe(0);
  });

  it("finds events already present when the same events are read again (another copy of the archive)", async () => {
    const table = uniqueName("manifest");
    await populate(table, join(root, "archive"));
    const copy = await populate(table, join(root, "copy"));
    expect(copy.runs.processed).toBe(4);
    expect(copy.written).toBe(0);
    expect(copy.alreadyPresent + copy.duplicates).toBe(EVENTS);
    expect(copy.duplicates).toBe(1);
    expect(await countItems(client, table)).toBe(UNIQUE);
  });

  it("reads only runs at or after --since (inclusive, UTC), for both forms", async () => {
    const table = uniqueName("manifest");
    const byDate = await populate(table, join(root, "archive"), { since: "2017-02-21" });
    expect(byDate.runs).toMatchObject({ found: 4, selected: 3, processed: 3 });
    expect(byDate.written).toBe(UNIQUE - 5);
    const byTime = await populate(uniqueName("manifest"), join(root, "archive"), {
      since: "2017-02-21-11-40-15",
      dryRun: true,
    });
    expect(byTime.runs).toMatchObject({ selected: 2, processed: 2 });
    expect(byTime.events).toBe(3 + 2 + 4);
    expect(byTime.written).toBe(0);
    const lastSecond = await populate(table, join(root, "archive"), {
      since: "2017-02-20-23-59-59",
      dryRun: true,
    });
    expect(lastSecond.runs.selected).toBe(4);
  });

  it("reads the same archive from S3 (s3rver)", async () => {
    const s3 = testS3Client();
    const bucket = await createTestBucket(s3, "enriched");
    await writeS3Archive(s3, bucket, "enriched/archive/", ARCHIVE);
    const table = uniqueName("manifest");
    const summary = await populate(table, `s3a://${bucket}/enriched/archive`, {
      storage: createStorage({ s3 }),
    });
    expect(summary.archive).toBe(`s3://${bucket}/enriched/archive/`);
    expect(summary.runs.processed).toBe(4);
    expect(summary.events).toBe(EVENTS);
    expect(summary.written).toBe(UNIQUE);
    expect(summary.badLines).toBe(BAD_LINES);
    expect(summary.badLineSamples[0]?.file).toBe(
      `s3://${bucket}/enriched/archive/run=2017-02-21-00-00-00/part-00001`,
    );
  });

  it("rejects a bad resolver config or --since before touching anything", async () => {
    const table = uniqueName("manifest");
    await expect(
      populate(table, join(root, "archive"), {
        resolverConfig: { schema: RESOLVER_CONFIG.schema, data: {} },
      }),
    ).rejects.toThrow(/data\.cacheSize/);
    await expect(populate(table, join(root, "archive"), { since: "21/02/2017" })).rejects.toThrow(/--since/);
    expect(await new EventManifest(client, table).exists()).toBe(false);
  });

  it("a dry run touches no table", async () => {
    const table = uniqueName("manifest");
    const summary = await populate(table, join(root, "archive"), { dryRun: true });
    expect(summary.events).toBe(EVENTS);
    expect(summary.written).toBe(0);
    expect(await new EventManifest(client, table).exists()).toBe(false);
  });
});

function expectNoSecrets(run: CliRun) {
  for (const text of [run.stdout(), run.stderr()]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ACCESS_KEY);
  }
}

// Backend-independent CLI checks run once, on the first DynamoDB server.
describe.concurrent("snaplake populate-event-manifest with bad input and other configs", () => {
  const endpoint = dynamoBackends()[0]!.endpoint;
  const env = { AWS_ENDPOINT_URL_DYNAMODB: endpoint };
  let dir: string;

  beforeAll(async () => {
    dir = tempDir("snaplake-populate-bad-");
    await writeLocalArchive(join(dir, "archive"), ARCHIVE);
    await writeJson(dir, "resolver.json", RESOLVER_CONFIG);
  });

  it(
    "bad configs fail with exit 2, name the field, and never print the keys",
    async () => {
      const good = storageConfig100(uniqueName("manifest"));
      const missing = await writeJson(dir, "missing.json", {
        ...good,
        data: { ...good.data, dynamodbTable: undefined },
      });
      // A syntax error right after the secret: V8's own message would quote the text around it.
      const broken = await writeJson(
        dir,
        "broken.json",
        JSON.stringify(good).replace(`"${SECRET}",`, `"${SECRET}" oops,`),
      );
      // A DynamoDB error (table names need 3+ characters) must not carry the keys either.
      const shortTable = await writeJson(dir, "short.json", storageConfig100("ab"));
      const populateWith = (config: string) =>
        runCli(["populate-event-manifest", join(dir, "archive"), config, join(dir, "resolver.json")], env);
      const [run, syntax, server] = [populateWith(missing), populateWith(broken), populateWith(shortTable)];

      expect(await run.exited).toBe(2);
      expect(run.stderr()).toMatch(/data\.dynamodbTable/);
      expectNoSecrets(run);
      expect(await syntax.exited).toBe(2);
      expect(syntax.stderr()).toMatch(/broken\.json.*not valid JSON/);
      expectNoSecrets(syntax);
      expect(await server.exited).toBe(1);
      expect(server.stderr()).toMatch(/snaplake: .*TableName/);
      expectNoSecrets(server);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "SIGTERM releases the current run, so a re-run resumes at once even with a long lease",
    async () => {
      const archive = tempDir("snaplake-sigterm-");
      const perRun = 100;
      const runs = ["run=2018-02-01-00-00-00", "run=2018-02-02-00-00-00", "run=2018-02-03-00-00-00"];
      await writeLocalArchive(
        archive,
        runs.map((run, i) => ({ path: `${run}/part-00000`, lines: goodLines(`t${i}`, perRun) })),
      );
      const table = uniqueName("manifest");
      const config = await writeJson(dir, `${table}.json`, storageConfig100(table));
      // With a 10-minute lease, a run left claimed would make the re-run wait far beyond the test timeout.
      const args = [
        "populate-event-manifest",
        archive,
        config,
        join(dir, "resolver.json"),
        "--json",
        "--lease-seconds",
        "600",
      ];
      const first = runCli([...args, "--concurrency", "1"], env);
      while (!first.stderr().includes('"msg":"run done"')) {
        if (first.child.exitCode !== null)
          throw new Error(`populate ended before the signal: ${first.stderr()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(1);
      expect(first.stderr()).toMatch(
        /snaplake: Interrupted while reading .*run=2018-02-0[23]-00-00-00\/; run the same command again to resume/,
      );

      const second = runCli(args, env);
      expect(await second.exited, second.stderr()).toBe(0);
      const summary = JSON.parse(second.stdout()) as PopulateSummary;
      expect(summary.runs.alreadyDone + summary.runs.processed).toBe(3);
      const client = testDynamoClient(endpoint);
      expect(await countItems(client, table)).toBe(3 * perRun);
      client.destroy();
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "a 2-0-0 config with auth null uses the default AWS credential chain",
    async () => {
      const table = uniqueName("manifest");
      const config = await writeJson(dir, `${table}.json`, {
        schema: "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/2-0-0",
        data: {
          name: "m",
          auth: null,
          awsRegion: "us-east-1",
          dynamodbTable: table,
          id: "c5f3a09c-75d8-4432-a5c3-2a4c5d1c9a88",
          purpose: "EVENTS_MANIFEST",
        },
      });
      const chain = { ...env, AWS_ACCESS_KEY_ID: "snaplaketest", AWS_SECRET_ACCESS_KEY: "snaplaketest" };
      const run = runCli(
        ["populate-event-manifest", join(dir, "archive"), config, join(dir, "resolver.json"), "--json"],
        chain,
      );
      expect(await run.exited, run.stderr()).toBe(0);
      expect(JSON.parse(run.stdout())).toMatchObject({ written: UNIQUE });
      const client = testDynamoClient(endpoint);
      expect(await countItems(client, table)).toBe(UNIQUE);
      client.destroy();
    },
    CLI_TIMEOUT_MS,
  );
});

// Each test runs several CLI processes one after another, so the tests run concurrently.
describe.concurrent.each(dynamoBackends())("snaplake populate-event-manifest on $name", ({ endpoint }) => {
  const client = testDynamoClient(endpoint);
  let dir: string;
  afterAll(() => client.destroy());

  beforeAll(async () => {
    dir = tempDir("snaplake-populate-cli-");
    await writeLocalArchive(join(dir, "archive"), ARCHIVE);
    await writeJson(dir, "resolver.json", RESOLVER_CONFIG);
  });

  const env = { AWS_ENDPOINT_URL_DYNAMODB: endpoint };

  it(
    "populates through AWS_ENDPOINT_URL_DYNAMODB with --since in both forms, text or JSON, never printing the keys",
    async () => {
      const table = uniqueName("manifest");
      const config = await writeJson(dir, `${table}.json`, storageConfig100(table));
      const args = ["populate-event-manifest", join(dir, "archive"), config, join(dir, "resolver.json")];

      const byTime = runCli([...args, "--json", "--since", "2017-02-21-11-40-15"], env);
      expect(await byTime.exited, byTime.stderr()).toBe(0);
      expect(JSON.parse(byTime.stdout())).toMatchObject({ runs: { selected: 2, processed: 2 }, written: 9 });
      expectNoSecrets(byTime);

      const byDate = runCli([...args, "--since", "2017-02-21"], env);
      expect(await byDate.exited, byDate.stderr()).toBe(0);
      expect(byDate.stdout()).toMatch(/runs: +3 selected of 4 \(1 read, 2 already done, 0 archived/);
      expect(byDate.stdout()).toMatch(/written: +4\n/);
      expect(byDate.stdout()).toMatch(/already present: +1 \(1 of them with another etl_tstamp\)/);
      expect(byDate.stdout()).toMatch(
        /bad lines: +6\n.*run=2017-02-21-00-00-00\/part-00001:1: event_fingerprint is empty/,
      );
      expectNoSecrets(byDate);

      const all = runCli([...args, "--json"], env);
      expect(await all.exited, all.stderr()).toBe(0);
      const summary = JSON.parse(all.stdout()) as PopulateSummary;
      expect(summary).toMatchObject({ runs: { processed: 1, alreadyDone: 3 }, written: 5, events: 5 });
      expect(await countItems(client, table)).toBe(UNIQUE);
      expectNoSecrets(all);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "resumes after being killed mid-way: nothing written twice, totals consistent",
    async () => {
      const resumeDir = tempDir("snaplake-resume-");
      const perRun = 100;
      const runs = ["run=2018-01-01-00-00-00", "run=2018-01-02-00-00-00", "run=2018-01-03-00-00-00"];
      await writeLocalArchive(
        resumeDir,
        runs.map((run, i) => ({
          path: `${run}/part-00000.gz`,
          lines: goodLines(`r${i}`, perRun),
          gzip: true,
        })),
      );
      const table = uniqueName("manifest");
      const config = await writeJson(dir, `${table}.json`, storageConfig100(table));
      const args = [
        "populate-event-manifest",
        resumeDir,
        config,
        join(dir, "resolver.json"),
        "--json",
        "--lease-seconds",
        "2",
      ];

      const first = runCli([...args, "--concurrency", "1"], env);
      while (!first.stderr().includes('"msg":"run done"')) {
        if (first.child.exitCode !== null)
          throw new Error(`populate ended before it could be killed: ${first.stderr()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      first.child.kill("SIGKILL");
      await first.exited;
      await new Promise((r) => setTimeout(r, 300));
      const afterKill = await countItems(client, table);
      expect(afterKill).toBeGreaterThanOrEqual(perRun);
      expect(afterKill).toBeLessThan(3 * perRun);

      const second = runCli(args, env);
      expect(await second.exited, second.stderr()).toBe(0);
      const summary = JSON.parse(second.stdout()) as PopulateSummary;
      expect(summary.runs.alreadyDone).toBeGreaterThanOrEqual(1);
      expect(summary.runs.alreadyDone + summary.runs.processed).toBe(3);
      expect(summary.written).toBe(3 * perRun - afterKill);
      expect(summary.written + summary.alreadyPresent).toBe(summary.runs.processed * perRun);
      expect(await countItems(client, table)).toBe(3 * perRun);
    },
    CLI_TIMEOUT_MS,
  );
});
