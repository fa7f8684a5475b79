/**
 * Planning benchmark and the memory of one group.
 *
 *   npm run bench:plan -- [--entries 1000000] [--group-mb 50,100,200]
 *
 * 1. A snapshot manifest of `entries` files: write it (Parquet data file + summary JSON, on local storage),
 *    read it back, and plan the file groups (planSnapshotFileGroups, 100 MiB target). Goal: all under 5 s.
 *    Read + plan is what step 1.1 does.
 * 2. Peak RSS of processing ONE snapshot group (step 1.3 of SnowplowEnrichedProject: read, validate,
 *    de-duplicate, partition, write staging Parquet) against the group's size, each size in its own child
 *    process: the factor is (peak RSS - RSS before the step) / group bytes (uncompressed TSV).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseProjectConfig } from "../src/config.js";
import { type DataFile, readSnapshotManifest, writeSnapshotManifest } from "../src/models/manifests.js";
import { openRuntime } from "../src/runtime.js";
import { EnrichedEventGenerator } from "../src/snowplow/generator.js";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "../src/snowplow/project.js";
import { Step } from "../src/steps/catalogue.js";
import { planSnapshotFileGroups } from "../src/steps/step-1-1-plan-snapshot-to-staging.js";
import { createStorage } from "../src/storage/create.js";
import { peakRssMb, reportToParent, runBenchChild } from "./child.js";
import { generatorTag } from "./generator-tag.js";

const OUT_DIR = join(import.meta.dirname, "out");
const MB = 1e6;
const TARGET_GROUP_SIZE = 100 * 1024 * 1024;

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Deterministic file list in key order (as a listing returns it): sizes from 16 KB to ~4 MB, etags as MD5-like hex. */
function syntheticFiles(count: number): DataFile[] {
  const files: DataFile[] = new Array(count);
  let state = 2024;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const size = 16_384 + (state % 4_000_000);
    files[i] = {
      uri: `s3://bench-bucket/snapshot/dt=2024-03-${String(1 + Math.floor((i * 28) / count)).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.parquet`,
      etag: createHash("md5").update(String(i)).digest("hex"),
      size,
      nRecord: Math.floor(size / 200),
    };
  }
  return files;
}

async function planning(entries: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "snaplake-bench-plan-"));
  try {
    const storage = createStorage({ localRoot: root });
    const summaryUri = `file://${root}/manifests/snapshot/manifest-summary.json`;
    const files = syntheticFiles(entries);

    let start = performance.now();
    await writeSnapshotManifest(storage, summaryUri, files);
    const write = seconds(start);
    start = performance.now();
    const manifest = await readSnapshotManifest(storage, summaryUri);
    const read = seconds(start);
    start = performance.now();
    const groups = planSnapshotFileGroups(manifest, TARGET_GROUP_SIZE);
    const plan = seconds(start);

    const total = write + read + plan;
    console.log(
      `manifest of ${entries.toLocaleString("en")} entries (${(manifest.size / 2 ** 40).toFixed(2)} TiB):`,
    );
    console.log(`  write (Parquet + summary, fingerprint)  ${write.toFixed(2)} s`);
    console.log(`  read back (Parquet → entries)            ${read.toFixed(2)} s`);
    console.log(
      `  planSnapshotFileGroups (100 MiB target)  ${plan.toFixed(2)} s → ${groups.length.toLocaleString("en")} groups`,
    );
    console.log(`  read + plan (what step 1.1 does)         ${(read + plan).toFixed(2)} s`);
    console.log(
      `  total ${total.toFixed(2)} s (goal < 5 s: ${total < 5 ? "met" : "NOT met"}), peak RSS ${peakRssMb().toFixed(0)} MB`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** One group of `sizeMb` MB of enriched TSV in 16 MB plain files (cached under bench/out/). */
function groupInput(sizeMb: number): string {
  const options = { seed: 7, badShare: 0.001 };
  const folder = join(OUT_DIR, `plan-group-${sizeMb}mb-${generatorTag(options)}`);
  const marker = join(folder, "_SUCCESS");
  if (existsSync(marker)) return folder;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, "run=2024-03-01-00-00-00"), { recursive: true });
  const generator = new EnrichedEventGenerator(options);
  for (let file = 0; generator.truth.bytes < sizeMb * MB; file++) {
    const chunks: Buffer[] = [];
    let bytes = 0;
    while (bytes < 16 * MB && generator.truth.bytes < sizeMb * MB) {
      const chunk = generator.linesBuffer(1000);
      chunks.push(chunk);
      bytes += chunk.length;
    }
    writeFileSync(
      join(folder, "run=2024-03-01-00-00-00", `part-${String(file).padStart(5, "0")}`),
      Buffer.concat(chunks),
    );
  }
  writeFileSync(marker, "");
  return folder;
}

interface GroupMemory {
  groupMb: number;
  rssBeforeMb: number;
  peakRssMb: number;
  seconds: number;
}

/** Child: one snapshot group through step 1.3; reports RSS before the step and the peak. */
async function groupChild(input: string, groupMb: number): Promise<GroupMemory> {
  const work = mkdtempSync(join(tmpdir(), "snaplake-bench-group-"));
  const config = {
    ...SNOWPLOW_DEFAULTS,
    projectId: "bench-group",
    snapshot: { uri: `file://${input}/` },
    stagingUri: `file://${work}/staging/`,
    datalakeUri: `file://${work}/lake/`,
    targetFileGroupSize: 1024 * 1024 * 1024 * 1024, // one group, whatever the size
  };
  const runtime = await openRuntime(parseProjectConfig(config), { stateDir: join(work, "state") });
  try {
    const project = new SnowplowEnrichedProject(config, runtime);
    await project.step1_1PlanSnapshotToStaging();
    const [task] = await project.tracker.todo(project.projectId, Step.snapshotToStaging);
    if (!task) throw new Error("no group planned");
    globalThis.gc?.();
    const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
    const start = performance.now();
    const result = await project.step1_3ProcessSnapshotGroup(task.taskId);
    if (result.outcome !== "succeeded") throw new Error(`step 1.3 did not succeed: ${result.outcome}`);
    return {
      groupMb,
      rssBeforeMb,
      peakRssMb: peakRssMb(),
      seconds: seconds(start),
    };
  } finally {
    await runtime.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entries: { type: "string", default: "1000000" },
      "group-mb": { type: "string", default: "50,100,200" },
      child: { type: "string" },
      input: { type: "string" },
    },
  });
  if (values.child) {
    const result = await groupChild(values.input as string, Number(values.child));
    reportToParent(result);
    return;
  }
  console.log(
    `machine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  await planning(Number(values.entries));

  mkdirSync(OUT_DIR, { recursive: true });
  console.log(
    "\none snapshot group through step 1.3 (read + validate + dedupe + partition + staging write):",
  );
  console.log("group MB  RSS before MB  peak RSS MB  (peak - before) / group  seconds");
  for (const groupMb of (values["group-mb"] as string).split(",").map(Number)) {
    const input = groupInput(groupMb);
    const r = runBenchChild<GroupMemory>(
      import.meta.filename,
      ["--child", String(groupMb), "--input", input],
      ["--expose-gc"],
    );
    const factor = (r.peakRssMb - r.rssBeforeMb) / ((groupMb * MB) / 2 ** 20);
    console.log(
      `${String(groupMb).padStart(8)} ${r.rssBeforeMb.toFixed(0).padStart(14)} ${r.peakRssMb.toFixed(0).padStart(12)} ` +
        `${factor.toFixed(1).padStart(24)}× ${r.seconds.toFixed(1).padStart(8)}`,
    );
  }
}

await main();
