/**
 * The populator's sample configs in examples/populator/ work as shipped: the CLI (in this process) fills the event
 * manifest named by local.json from the demo's archive (on dynalite, through AWS_ENDPOINT_URL_DYNAMODB as
 * the example's README says), with resolver.json; aws.json passes the same checks in a dry run (which needs
 * no AWS account). The bad-line count is the one docs/snowplow-archives.md explains.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { paginateScan } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ARCHIVE } from "../../src/cli/commands/demo.js";
import { writeEnrichedArchive } from "../../src/snowplow/generator.js";
import type { PopulateSummary } from "../../src/snowplow/populator.js";
import { snaplake } from "../support/cli.js";
import { dynamoBackends, testDynamoClient } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const examples = fileURLToPath(new URL("../../examples/populator/", import.meta.url));
const docs = fileURLToPath(new URL("../../docs/snowplow-archives.md", import.meta.url));
const storageTable = JSON.parse(readFileSync(join(examples, "local.json"), "utf8")).data
  .dynamodbTable as string;

/** The populator's bad-line count on the demo archive, as the docs state it. */
function documentedBadLines(): number {
  const match = readFileSync(docs, "utf8").match(
    /`snaplake populate-event-manifest` \*\*([\d,]+)\*\* bad lines/,
  );
  if (!match) throw new Error("docs/snowplow-archives.md no longer states the populator's bad-line count");
  return Number(match[1]!.replaceAll(",", ""));
}

describe("examples/populator", () => {
  const { endpoint } = dynamoBackends()[0]!;
  const client = testDynamoClient(endpoint);
  let dir: string;
  let archive: string;
  afterAll(() => client.destroy());

  beforeAll(async () => {
    dir = tempDir("snaplake-populator-examples-");
    archive = join(dir, "archive");
    await writeEnrichedArchive({ root: archive, ...DEMO_ARCHIVE });
  });

  const populate = (storageConfig: string, ...options: string[]) =>
    snaplake(
      [
        "populate-event-manifest",
        archive,
        join(examples, storageConfig),
        join(examples, "resolver.json"),
        "--json",
        ...options,
      ],
      { AWS_ENDPOINT_URL_DYNAMODB: endpoint },
    );

  it("local.json and resolver.json fill the event manifest from the demo archive, once", async () => {
    const first = await populate("local.json");
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as PopulateSummary;
    expect(summary).toMatchObject({
      table: storageTable,
      dryRun: false,
      runs: { found: DEMO_ARCHIVE.runs, processed: DEMO_ARCHIVE.runs, alreadyDone: 0 },
      files: DEMO_ARCHIVE.runs * DEMO_ARCHIVE.filesPerRun,
      badLines: documentedBadLines(),
    });
    expect(summary.written).toBeGreaterThan(0);
    expect(summary.written + summary.alreadyPresent + summary.duplicates).toBe(summary.events);

    let items = 0;
    for await (const page of paginateScan(
      { client },
      { TableName: storageTable, Select: "COUNT", ConsistentRead: true },
    )) {
      items += page.Count ?? 0;
    }
    expect(items).toBe(summary.written);

    const again = await populate("local.json");
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      runs: { processed: 0, alreadyDone: DEMO_ARCHIVE.runs },
      written: 0,
    });
  }, 240_000);

  it("aws.json is a valid storage config: a dry run reads and checks every line, writing nothing", async () => {
    const dry = await populate("aws.json", "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      runs: { found: DEMO_ARCHIVE.runs },
      written: 0,
      badLines: documentedBadLines(),
    });
  }, 240_000);
});
