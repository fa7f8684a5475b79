/**
 * Opening a Delta table of many commits: `openDeltaTable` (list the log, read the newest checkpoint, replay
 * the JSON commits after it) on a table of `--commits` appends of one small file each, with a checkpoint
 * every 10 commits as snaplake writes them, against the same log without its checkpoints (every JSON
 * commit replayed).
 *
 *   npm run bench:table -- [--commits 1000] [--repeat 5]
 *   npm run bench:table -- --format iceberg [--commits 1000]
 *
 * The table is built once with commitToDeltaTable (cached under bench/out/ by commit count); the copy
 * without checkpoints holds the same `_delta_log/*.json` files only. Each open is timed in this process,
 * after one untimed open (module loading, the file system cache); best and median of `--repeat` opens.
 *
 * `--format iceberg`: `--commits` appends of one small file each through the Iceberg lake table (filesystem
 * catalog on a local folder), timing every commit; then the size of the current metadata JSON, of the
 * metadata folder and of the current manifest list; then optimize (plan, rewrite, one replace snapshot),
 * one more append, and vacuum with no retention (expiring every superseded snapshot), with the same
 * figures after each. Built afresh each run (the commit times are the point).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pl from "nodejs-polars";
import { parseProjectConfig } from "../src/config.js";
import { rewriteOptimizeGroup } from "../src/steps/optimize.js";
import { createStorage } from "../src/storage/create.js";
import type { Storage } from "../src/storage/types.js";
import { commitToDeltaTable, openDeltaTable } from "../src/table/delta/index.js";
import { fileSystemCatalogForReading, readManifestList } from "../src/table/iceberg/index.js";
import { openLakeTable } from "../src/table/index.js";

const OUT_DIR = join(import.meta.dirname, "out");
const DAYS = 10;

/** Append i's data file: two rows in day partition i % DAYS, named by i. Returns its path. */
async function writeAppendFile(storage: Storage, folder: string, i: number): Promise<string> {
  const day = `2024-06-${String((i % DAYS) + 1).padStart(2, "0")}`;
  const path = join(folder, `day=${day}`, `part-${String(i).padStart(6, "0")}.parquet`);
  const frame = pl.DataFrame({
    id: pl.Series("id", [i * 2, i * 2 + 1], pl.Int64),
    value: pl.Series("value", [`a${i}`, `b${i}`], pl.Utf8),
  });
  await storage.put(path, frame.writeParquet({ compression: "zstd" }));
  return path;
}

async function buildTable(folder: string, commits: number): Promise<void> {
  const storage = createStorage();
  const start = performance.now();
  for (let i = 0; i < commits; i++) {
    const path = await writeAppendFile(storage, folder, i);
    await commitToDeltaTable({
      storage,
      tableUri: folder,
      projectId: `run-${i}`,
      mode: "append",
      files: [path],
      partitionColumns: ["day"],
    });
  }
  console.log(`built ${commits} commits in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

/** The same table without checkpoints: the data files and the JSON commits only. */
function withoutCheckpoints(source: string, target: string): void {
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, {
    recursive: true,
    filter: (path) => !/\.checkpoint\.parquet$|_last_checkpoint$/.test(path),
  });
}

async function timeOpens(folder: string, repeat: number) {
  const storage = createStorage();
  const first = await openDeltaTable(storage, folder); // untimed: warms modules and the page cache
  const seconds: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    const table = await openDeltaTable(storage, folder);
    seconds.push((performance.now() - start) / 1000);
    if (table.files.length !== first.files.length) throw new Error("the table changed while timed");
  }
  seconds.sort((a, b) => a - b);
  return {
    version: first.version,
    files: first.files.length,
    best: seconds[0]!,
    median: seconds[Math.floor(seconds.length / 2)]!,
  };
}

function machine(): string {
  return (
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`
  );
}

/** Sizes of an Iceberg table's metadata: the current JSON, the metadata folder, the current manifest list. */
async function icebergMetadataSizes(storage: Storage, folder: string) {
  const catalog = fileSystemCatalogForReading(storage, folder);
  const state = (await catalog.load())!;
  const metadataJson = (await storage.head(state.metadataLocation)).size;
  let folderBytes = 0;
  let folderFiles = 0;
  for await (const object of storage.listSummaries(`${catalog.tableUri}/metadata/`)) {
    folderBytes += object.size;
    folderFiles++;
  }
  const current = state.metadata.snapshots.find(
    (s) => s["snapshot-id"] === state.metadata["current-snapshot-id"],
  )!;
  const manifests = (await readManifestList(storage, current["manifest-list"])).length;
  return { metadataJson, folderBytes, folderFiles, manifests, snapshots: state.metadata.snapshots.length };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (seconds: number[]) => {
  const sorted = [...seconds].sort((a, b) => a - b);
  return `median ${(sorted[Math.floor(sorted.length / 2)]! * 1000).toFixed(1)} ms, max ${(sorted.at(-1)! * 1000).toFixed(1)} ms`;
};

async function benchIceberg(commits: number): Promise<void> {
  const folder = join(OUT_DIR, `iceberg-${commits}-appends`);
  rmSync(folder, { recursive: true, force: true });
  const storage = createStorage();
  const config = (mode: "append") =>
    parseProjectConfig({
      projectId: "bench",
      snapshot: { uri: "/s/" },
      stagingUri: "/st/",
      datalakeUri: folder,
      table: { format: "iceberg", mode },
    }).table;
  const lake = openLakeTable(config("append"), storage, folder);
  const append = async (i: number) => {
    const path = await writeAppendFile(storage, folder, i);
    const start = performance.now();
    await lake.commit({
      projectId: `run-${i}`,
      files: [path],
      partitionColumns: ["day"],
      partitionTypes: { day: "date" },
    });
    return (performance.now() - start) / 1000;
  };
  console.log(machine());
  console.log(
    `table: ${commits} appends of one file each, ${DAYS} partitions, filesystem catalog, local folder\n`,
  );
  const times: number[] = [];
  for (let i = 0; i < commits; i++) times.push(await append(i));
  const window = Math.min(100, commits);
  console.log(`commit, first ${window} appends: ${ms(times.slice(0, window))}`);
  console.log(`commit, last ${window} appends:  ${ms(times.slice(-window))}`);
  console.log(`all ${commits} commits: ${times.reduce((a, b) => a + b, 0).toFixed(1)} s`);
  const report = async (label: string) => {
    const sizes = await icebergMetadataSizes(storage, folder);
    console.log(
      `${label.padEnd(34)} snapshots ${String(sizes.snapshots).padStart(5)}  metadata JSON ${kib(sizes.metadataJson).padStart(10)}  ` +
        `manifest list ${String(sizes.manifests).padStart(5)} manifests  metadata/ ${sizes.folderFiles} files, ${(sizes.folderBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  };
  console.log("");
  await report(`after ${commits} appends`);

  const optimizeStart = performance.now();
  const plan = await lake.planOptimize({ targetFileSize: 128 * 2 ** 20 });
  for (const group of plan.groups)
    await rewriteOptimizeGroup(storage, plan, group, {
      sortBy: [],
      compression: "zstd",
      rowGroupSize: 122_880,
    });
  const optimized = await lake.commitOptimize(plan, "bench-optimize");
  console.log(
    `optimize: ${plan.groups.length} groups, ${optimized.filesRemoved} files into ${optimized.filesAdded}, ` +
      `${((performance.now() - optimizeStart) / 1000).toFixed(1)} s`,
  );
  await report("after optimize");
  const after = [];
  for (let i = commits; i < commits + 10; i++) after.push(await append(i));
  console.log(`commit, 10 appends after optimize: ${ms(after)}`);
  await report("after optimize + 10 appends");
  const vacuumStart = performance.now();
  const vacuumed = await lake.vacuum({ retainMs: 0, dryRun: false });
  console.log(
    `vacuum (no retention): ${vacuumed.files.length} files deleted, ${((performance.now() - vacuumStart) / 1000).toFixed(1)} s`,
  );
  await report("after vacuum");
  const last = [];
  for (let i = commits + 10; i < commits + 20; i++) last.push(await append(i));
  console.log(`commit, 10 appends after vacuum: ${ms(last)}`);
  console.log(`load average after: ${loadavg()[0]!.toFixed(1)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      commits: { type: "string", default: "1000" },
      repeat: { type: "string", default: "5" },
      format: { type: "string", default: "delta" },
    },
  });
  const commits = Number(values.commits);
  const repeat = Number(values.repeat);
  mkdirSync(OUT_DIR, { recursive: true });
  if (values.format === "iceberg") return benchIceberg(commits);
  if (values.format !== "delta") throw new Error(`--format is delta or iceberg, not ${values.format}`);
  const table = join(OUT_DIR, `table-open-${commits}-commits`);
  const complete = join(table, "_delta_log", `${String(commits - 1).padStart(20, "0")}.json`);
  if (!existsSync(complete)) {
    rmSync(table, { recursive: true, force: true });
    await buildTable(table, commits);
  }
  const plain = `${table}-no-checkpoints`;
  withoutCheckpoints(table, plain);
  const checkpoints = readdirSync(join(table, "_delta_log")).filter((n) => n.endsWith(".checkpoint.parquet"));

  console.log(machine());
  console.log(
    `table: ${commits} commits of one file each, ${DAYS} partitions, ${checkpoints.length} checkpoints`,
  );
  console.log("\nlog                     version  files  best s  median s");
  for (const [name, folder] of [
    ["with checkpoints", table],
    ["JSON commits only", plain],
  ] as const) {
    const result = await timeOpens(folder, repeat);
    console.log(
      `${name.padEnd(22)} ${String(result.version).padStart(8)} ${String(result.files).padStart(6)} ` +
        `${result.best.toFixed(3).padStart(7)} ${result.median.toFixed(3).padStart(9)}`,
    );
  }
  console.log(`load average after: ${loadavg()[0]!.toFixed(1)}`);
}

await main();
