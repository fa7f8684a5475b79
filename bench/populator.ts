/**
 * Event manifest populator benchmark (not a test). Starts its own DynamoDB Local and prints
 * - events/second of `populateEventManifest` (bounded concurrency) against a plain sequential PutItem loop
 *   over the same events in the same run, and their ratio;
 * - peak memory (max RSS and peak heap) of a populate as the archive grows 1x to 4x, each size in a fresh
 *   child process; it should stay flat because files are streamed line by line.
 * The archive is written by the enriched-event generator (plain and gzip part files, realistic lines).
 *
 * usage: npx tsx bench/populator.ts [--events 10000] [--concurrency 32] [--sizes 4]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoDBClient } from "../src/clients/aws.js";
import { inflateIfGzip } from "../src/compression.js";
import { DEFAULT_EVENT_MANIFEST_TTL_SECONDS, EventManifest } from "../src/snowplow/event-manifest.js";
import { writeEnrichedArchive } from "../src/snowplow/generator.js";
import {
  type PopulateSummary,
  parseManifestLine,
  populateEventManifest,
  populatorRunsTableName,
} from "../src/snowplow/populator.js";
import { isDataObject } from "../src/snowplow/run-ids.js";
import { RunManifests } from "../src/snowplow/run-manifests.js";
import { createStorage } from "../src/storage/create.js";
import { startDynamoDbLocal } from "../test/support/servers.js";
import { peakRssMb } from "./child.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "32" },
    sizes: { type: "string", default: "4" },
    child: { type: "string" },
    endpoint: { type: "string" },
  },
});
const credentials = { accessKeyId: "snaplakebench", secretAccessKey: "snaplakebench" };
const RESOLVER = {
  schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-0",
  data: { cacheSize: 500, repositories: [] },
};
const storageConfig = (table: string) => ({
  schema: "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/1-0-0",
  data: {
    name: "bench",
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    awsRegion: "us-east-1",
    dynamodbTable: table,
    purpose: "DUPLICATE_TRACKING",
  },
});

/** Runs one populate and reports its summary and memory peaks (child-process mode). */
async function child(archive: string, endpoint: string): Promise<void> {
  let heapPeak = 0;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 20);
  const client = createDynamoDBClient({ endpoint, credentials });
  const summary = await populateEventManifest({
    archive,
    storageConfig: storageConfig(`bench-mem-${Date.now()}`),
    resolverConfig: RESOLVER,
    dynamodb: client,
    concurrency: Number(values.concurrency),
  });
  clearInterval(sampler);
  client.destroy();
  const maxRssMb = peakRssMb();
  // What stays reachable once garbage is collected: a leak would grow with the archive, GC slack would not.
  (globalThis as { gc?: () => void }).gc?.();
  const retainedMb = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(
    `${JSON.stringify({ summary, maxRssMb, heapPeakMb: heapPeak / 2 ** 20, retainedMb })}\n`,
  );
}

async function archiveOf(root: string, events: number): Promise<{ bytes: number; lines: number }> {
  const filesPerRun = 4;
  const runs = 2;
  const result = await writeEnrichedArchive({
    root,
    runs,
    filesPerRun,
    linesPerFile: Math.ceil(events / (runs * filesPerRun)),
    badShare: 0.001,
    seed: 7,
  });
  return { bytes: result.truth.bytes, lines: result.truth.lines };
}

/**
 * The baselines, one request after another over the same items the populator writes: a plain unconditional
 * PutItem (`plain`), or the populator's own conditional put (`conditional`) to isolate the effect of concurrency.
 */
async function sequentialPutLoop(
  archive: string,
  endpoint: string,
  mode: "plain" | "conditional",
): Promise<{ events: number; seconds: number }> {
  const client = createDynamoDBClient({ endpoint, credentials });
  const table = `bench-seq-${mode}-${Date.now()}`;
  const manifest = new EventManifest(client, table);
  await manifest.create({ enableTtl: false });
  const storage = createStorage();
  const started = performance.now();
  let events = 0;
  // The populator's own listing and filter: no etags (on local storage they would MD5 every file).
  for await (const object of storage.listSummaries(archive)) {
    if (!isDataObject(object)) continue;
    const text = (await inflateIfGzip(await storage.get(object.uri))).toString();
    for (const line of text.split("\n")) {
      const parsed = parseManifestLine(line);
      if ("reason" in parsed) continue;
      events++;
      if (mode === "conditional") {
        await manifest.record(parsed.eventId, parsed.fingerprint, parsed.etlTime);
        continue;
      }
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            eventId: { S: parsed.eventId },
            fingerprint: { S: parsed.fingerprint },
            etlTime: { N: String(parsed.etlTime) },
            ttl: { N: String(parsed.etlTime + DEFAULT_EVENT_MANIFEST_TTL_SECONDS) },
          },
        }),
      );
    }
  }
  client.destroy();
  return { events, seconds: (performance.now() - started) / 1000 };
}

async function runChild(archive: string, endpoint: string) {
  const script = fileURLToPath(import.meta.url);
  const proc = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      script,
      "--child",
      archive,
      "--endpoint",
      endpoint,
      "--concurrency",
      String(values.concurrency),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    },
  );
  let out = "";
  proc.stdout.on("data", (chunk) => {
    out += chunk;
  });
  const [code] = await once(proc, "exit");
  if (code !== 0) throw new Error(`child populate exited with ${code}`);
  return JSON.parse(out) as {
    summary: PopulateSummary;
    maxRssMb: number;
    heapPeakMb: number;
    retainedMb: number;
  };
}

async function main(): Promise<void> {
  const events = Number(values.events);
  const server = await startDynamoDbLocal();
  const dir = await mkdtemp(join(tmpdir(), "snaplake-bench-populator-"));
  try {
    console.log(
      `DynamoDB Local at ${server.endpoint}; ${events} events per 1x; concurrency ${values.concurrency}`,
    );

    // DynamoDB Local is a JVM: warm it up so whichever contender runs first is not penalised.
    const warmClient = createDynamoDBClient({ endpoint: server.endpoint, credentials });
    const warm = new EventManifest(warmClient, `bench-warmup-${Date.now()}`);
    await warm.create({ enableTtl: false });
    await warm.putMany(
      Array.from({ length: 2000 }, (_, i) => ({ eventId: `warm-${i}`, fingerprint: "fp", etlTime: 1 })),
      { concurrency: 8 },
    );
    warmClient.destroy();

    // 1. Throughput: populator vs sequential PutItem loops, same archive, same server.
    const base = join(dir, "x1");
    const size = await archiveOf(base, events);
    console.log(`archive 1x: ${size.lines} lines, ${(size.bytes / 2 ** 20).toFixed(1)} MiB uncompressed`);
    // The loops run first: the populator then meets a server that is at least as warm as they did.
    const loopRates: Record<string, number> = {};
    let populatorRate = 0;
    for (const mode of ["plain", "conditional"] as const) {
      const sequential = await sequentialPutLoop(base, server.endpoint, mode);
      const sequentialRate = sequential.events / sequential.seconds;
      loopRates[mode] = sequentialRate;
      console.log(
        `sequential ${mode} PutItem loop: ${sequential.events} events in ${sequential.seconds.toFixed(1)} s = ` +
          `${sequentialRate.toFixed(0)} events/s`,
      );
    }

    const client = createDynamoDBClient({ endpoint: server.endpoint, credentials });
    // Tables made beforehand, as for the loops: only the writes are timed.
    const table = `bench-pop-${Date.now()}`;
    await new EventManifest(client, table).create({ enableTtl: false });
    await new RunManifests(client, populatorRunsTableName(table)).create();
    const started = performance.now();
    const summary = await populateEventManifest({
      archive: base,
      storageConfig: storageConfig(table),
      resolverConfig: RESOLVER,
      dynamodb: client,
      concurrency: Number(values.concurrency),
    });
    const populatorSeconds = (performance.now() - started) / 1000;
    client.destroy();
    populatorRate = summary.events / populatorSeconds;
    console.log(
      `populator:       ${summary.events} events in ${populatorSeconds.toFixed(1)} s = ${populatorRate.toFixed(0)} events/s ` +
        `(written ${summary.written}, duplicates ${summary.duplicates}, bad lines ${summary.badLines})`,
    );
    for (const [mode, rate] of Object.entries(loopRates)) {
      console.log(`ratio populator / sequential ${mode} loop: ${(populatorRate / rate).toFixed(2)}x`);
    }

    // 2. Peak memory as the archive grows.
    for (let factor = 1; factor <= Number(values.sizes); factor++) {
      const root = join(dir, `mem-x${factor}`);
      const grown = await archiveOf(root, events * factor);
      const result = await runChild(root, server.endpoint);
      console.log(
        `${factor}x: ${grown.lines} lines (${(grown.bytes / 2 ** 20).toFixed(1)} MiB): ` +
          `max RSS ${result.maxRssMb.toFixed(0)} MiB, peak heap ${result.heapPeakMb.toFixed(0)} MiB, ` +
          `heap after GC ${result.retainedMb.toFixed(1)} MiB, ` +
          `${result.summary.eventsPerSecond} events/s`,
      );
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (values.child) await child(values.child, values.endpoint ?? "");
else await main();
