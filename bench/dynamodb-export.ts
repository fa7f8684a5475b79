/**
 * Benchmark: a DynamoDB export (DYNAMODB_JSON, gzip'd) read by the dynamodb-export reader as step 1.3 reads
 * one group, printing items per second and the reading process's peak RSS.
 *
 *   npx tsx bench/dynamodb-export.ts [--mb 100] [--files 16] [--repeat 3]
 *
 * The parent generates (once, cached under bench/out/ by its parameters) an export whose data files hold
 * about `--mb` MB of JSON lines once inflated (the size step 1.1 weighs a group by), then runs each round in
 * a child process of its own, so the peak RSS (getrusage maxRSS) is the read's alone. A child first reads a
 * small warm-up export (untimed, as a step-1.3 worker's first group pays polars' start-up), then the whole
 * export as one group through step 1.3's read context (gunzip on the thread pool, then the reader).
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type pl from "nodejs-polars";
import { readDynamoDbExportManifest } from "../src/models/dynamodb-export-manifest.js";
import type { SnapshotFileGroup } from "../src/models/manifests.js";
import { dynamoDbExportReader } from "../src/readers/dynamodb-export.js";
import { createReadContext } from "../src/steps/step-1-3-process-snapshot-group.js";
import { createStorage } from "../src/storage/create.js";
import { generateDynamoDbExport } from "../src/testing/dynamodb-export.js";
import { reportToParent, runBenchChild, usageSince } from "./child.js";

const OUT_DIR = join(import.meta.dirname, "out", "dynamodb-export");
/** Average inflated JSON line of the sample table, measured on 11,628 generated items (3.9 MB). */
const BYTES_PER_ITEM = 335;

interface ChildResult {
  items: number;
  inflatedMb: number;
  seconds: number;
  cpuSeconds: number;
  warmupSeconds: number;
  maxRssMb: number;
  columns: number;
}

async function exportFolder(base: string): Promise<string> {
  const storage = createStorage();
  for (const folder of await storage.listFolders(`file://${base}/AWSDynamoDB/`)) return folder;
  throw new Error(`no export under ${base}`);
}

async function readOnce(folder: string): Promise<{ frame: pl.DataFrame; inflatedBytes: number }> {
  const storage = createStorage();
  const exported = await readDynamoDbExportManifest(storage, folder);
  const group: SnapshotFileGroup = {
    kind: "snapshot-file-group",
    fingerprint: "bench",
    size: exported.files.reduce((sum, f) => sum + f.size, 0),
    nRecord: exported.itemCount,
    files: exported.files,
  };
  const context = createReadContext(storage, group, new AbortController().signal);
  let inflatedBytes = 0;
  const counting = {
    ...context,
    readFile: async (uri: string) => {
      const bytes = await context.readFile(uri);
      inflatedBytes += bytes.length;
      return bytes;
    },
  };
  const frame = (await dynamoDbExportReader({ onWarning: () => {} })(group, counting)).data as pl.DataFrame;
  if (frame.height !== exported.itemCount) {
    throw new Error(`read ${frame.height} rows, the manifest says ${exported.itemCount}`);
  }
  return { frame, inflatedBytes };
}

async function child(input: string, warmup: string): Promise<void> {
  const warmStart = performance.now();
  await readOnce(await exportFolder(warmup));
  const warmupSeconds = (performance.now() - warmStart) / 1000;
  const folder = await exportFolder(input);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const { frame, inflatedBytes } = await readOnce(folder);
  const seconds = (performance.now() - start) / 1000;
  const usage = usageSince(cpu);
  reportToParent({
    items: frame.height,
    inflatedMb: inflatedBytes / 1e6,
    seconds,
    cpuSeconds: usage.cpuSeconds,
    warmupSeconds,
    maxRssMb: usage.maxRssMb,
    columns: frame.width,
  } satisfies ChildResult);
}

async function generate(base: string, itemCount: number, fileCount: number, seed: number): Promise<void> {
  if (existsSync(join(base, "AWSDynamoDB"))) return;
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const started = performance.now();
  await generateDynamoDbExport(createStorage(), { baseUri: `file://${base}/`, itemCount, fileCount, seed });
  console.log(
    `generated ${itemCount} items in ${fileCount} files under ${base} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "100" },
      files: { type: "string", default: "16" },
      repeat: { type: "string", default: "3" },
      child: { type: "string" },
      warmup: { type: "string" },
    },
  });
  if (values.child) return child(values.child, values.warmup!);

  const itemCount = Math.round((Number(values.mb) * 1e6) / BYTES_PER_ITEM);
  const fileCount = Number(values.files);
  const input = join(OUT_DIR, `items-${itemCount}-files-${fileCount}`);
  const warmup = join(OUT_DIR, "warmup-2000");
  await generate(input, itemCount, fileCount, 1);
  await generate(warmup, 2000, 2, 2);

  const runs: ChildResult[] = [];
  for (let round = 1; round <= Number(values.repeat); round++) {
    const result = runBenchChild<ChildResult>(import.meta.filename, ["--child", input, "--warmup", warmup]);
    runs.push(result);
    console.log(
      `round ${round}: ${result.items} items (${result.inflatedMb.toFixed(1)} MB of JSON lines, ${result.columns} columns) in ${result.seconds.toFixed(2)} s (cpu ${result.cpuSeconds.toFixed(2)} s, warm-up ${result.warmupSeconds.toFixed(2)} s): ${Math.round(result.items / result.seconds)} items/s, ${(result.inflatedMb / result.seconds).toFixed(1)} MB/s, peak RSS ${Math.round(result.maxRssMb)} MB`,
    );
  }
  const best = runs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const mean = runs.reduce((sum, r) => sum + r.seconds, 0) / runs.length;
  console.log(
    `dynamodb-export reader, ${best.inflatedMb.toFixed(0)} MB group: best ${Math.round(best.items / best.seconds)} items/s, mean ${Math.round(best.items / mean)} items/s; peak RSS ${Math.round(Math.max(...runs.map((r) => r.maxRssMb)))} MB (${(Math.max(...runs.map((r) => r.maxRssMb)) / best.inflatedMb).toFixed(1)}x the group)`,
  );
}

await main();
