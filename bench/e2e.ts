/**
 * End-to-end benchmark: a Snowplow enriched archive (run folders, plain + .gz part files) into an
 * `event_date`-partitioned zstd Parquet lake, snaplake vs DuckDB, on the same input.
 *
 *   npm run bench -- [--size-mb 500] [--seed 2024] [--repeat 2] [--bad-share 0.001] [--workers 2]
 *
 * - Input: `writeEnrichedArchive`, one call per day (so there are several event_date partitions), files of
 *   ~12–16 MB uncompressed, every second one gzipped. Cached under bench/out/ by size + seed + bad share +
 *   a hash of the generator's first lines, so repeated runs skip generation. "MB" below is always uncompressed TSV (10^6 bytes), whatever is gzipped.
 * - snaplake: `SnowplowEnrichedProject.runAll` (all steps: manifest, plan, read + validate + de-duplicate +
 *   stage, plan, compact + sort, validate, commit) on local storage with the embedded tracker (dynalite in a
 *   temp state folder), `workers` tasks at a time, into a Delta table; the note gives step 4's (the Delta
 *   commit's) share of the time, from its task's start and finish.
 * - DuckDB: one `COPY (SELECT ... FROM read_csv(...)) TO dir (FORMAT parquet, COMPRESSION zstd,
 *   PARTITION_BY (event_date))`. `ignore_errors=true` is needed: the input has malformed lines (as real
 *   archives do) and without it the COPY aborts at the first one. DuckDB therefore drops bad lines silently,
 *   keeps lines snaplake rejects (empty required fields, broken JSON/Iglu), does not de-duplicate and does
 *   not sort: it does less work than snaplake, which is the point of comparing against it.
 *
 * Each engine runs in its own child process, so peak RSS (getrusage maxRSS) is per engine; engines
 * alternate (snaplake, duckdb, snaplake, ...) so a change in machine load hits both. Seconds are measured in
 * the child from "start" (runtime / database open) to "lake written", without Node start-up and module
 * loading. The last line is the ratio of the best runs: `throughput ratio (snaplake / duckdb): X.XX`.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { parseProjectConfig } from "../src/config.js";
import { SINGLE_TASK_ID, Step } from "../src/models/steps.js";
import { openRuntime } from "../src/runtime.js";
import {
  addGroundTruth,
  EnrichedEventGenerator,
  emptyGroundTruth,
  type GroundTruth,
  writeEnrichedArchive,
} from "../src/snowplow/generator.js";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "../src/snowplow/project.js";
import { reportToParent, runBenchChild, usageSince } from "./child.js";
import { enrichedDuckdbColumns } from "./duckdb-columns.js";
import { generatorTag } from "./generator-tag.js";

const OUT_DIR = join(import.meta.dirname, "out");
const DAY_MS = 86_400_000;
const FILES_PER_RUN = 4;
const TARGET_FILE_BYTES = 16e6;

type Engine = "snaplake" | "duckdb";

interface ChildResult {
  engine: Engine;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  outputBytes: number;
  outputFiles: number;
  partitions: number;
  rows: number;
  note: string;
}

// --- input ---------------------------------------------------------------------------------------------

interface InputInfo {
  root: string;
  truth: GroundTruth;
  days: number;
  files: number;
  diskBytes: number;
}

/** Generates (or reuses) the archive: one writeEnrichedArchive per day, a few runs a day, 4 files a run. */
async function prepareInput(sizeMb: number, seed: number, badShare: number): Promise<InputInfo> {
  const tag = generatorTag({ seed, badShare });
  const folder = join(OUT_DIR, `e2e-input-${sizeMb}mb-seed${seed}-bad${badShare}-${tag}`);
  const marker = join(folder, "truth.json");
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8")) as InputInfo;

  rmSync(folder, { recursive: true, force: true });
  const root = join(folder, "archive");
  const sample = new EnrichedEventGenerator({ seed, badShare });
  const bytesPerLine = sample.linesBuffer(2000).length / 2000;
  const days = Math.max(1, Math.min(7, Math.round(sizeMb / 100)));
  const bytesPerDay = (sizeMb * 1e6) / days;
  const runsPerDay = Math.max(1, Math.round(bytesPerDay / (FILES_PER_RUN * TARGET_FILE_BYTES)));
  const linesPerFile = Math.max(1, Math.round(bytesPerDay / (runsPerDay * FILES_PER_RUN) / bytesPerLine));
  const start = performance.now();
  const truth = emptyGroundTruth();
  let files = 0;
  for (let day = 0; day < days; day++) {
    const archive = await writeEnrichedArchive({
      root,
      seed: seed + day,
      badShare,
      startTime: new Date(Date.UTC(2024, 2, 1) + day * DAY_MS),
      runs: runsPerDay,
      filesPerRun: FILES_PER_RUN,
      linesPerFile,
    });
    addGroundTruth(truth, archive.truth);
    files += archive.files.length;
  }
  const diskBytes = folderStats(root).bytes;
  const info: InputInfo = { root, truth, days, files, diskBytes };
  writeFileSync(marker, JSON.stringify(info, null, 2));
  const seconds = (performance.now() - start) / 1000;
  console.log(`generated ${(truth.bytes / 1e6).toFixed(1)} MB in ${files} files in ${seconds.toFixed(1)} s`);
  return info;
}

function folderStats(folder: string, suffix = ""): { files: number; bytes: number; dirs: Set<string> } {
  const stats = { files: 0, bytes: 0, dirs: new Set<string>() };
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    stats.files++;
    stats.bytes += statSync(join(entry.parentPath, entry.name)).size;
    stats.dirs.add(relative(folder, entry.parentPath));
  }
  return stats;
}

// --- engines (child processes) ------------------------------------------------------------------------

async function snaplakeChild(input: string, output: string, workers: number): Promise<ChildResult> {
  const stateDir = mkdtempSync(join(tmpdir(), "snaplake-bench-state-"));
  const configInput = {
    ...SNOWPLOW_DEFAULTS,
    projectId: "bench-e2e",
    snapshot: { uri: `file://${input}/` },
    stagingUri: `file://${output}/staging/`,
    datalakeUri: `file://${output}/lake/`,
    table: { format: "delta" as const, mode: "append" as const },
  };
  const startCpu = process.cpuUsage();
  const start = performance.now();
  const runtime = await openRuntime(parseProjectConfig(configInput), { stateDir });
  let summary: Awaited<ReturnType<SnowplowEnrichedProject["runAll"]>>;
  let commitSeconds = Number.NaN;
  try {
    const project = new SnowplowEnrichedProject(configInput, runtime);
    summary = await project.runAll({ workers });
    const commit = await runtime.tracker.get(project.projectId, Step.commit, SINGLE_TASK_ID);
    commitSeconds = (Date.parse(commit?.finishedAt ?? "") - Date.parse(commit?.startedAt ?? "")) / 1000;
  } finally {
    await runtime.close();
  }
  const seconds = (performance.now() - start) / 1000;
  rmSync(stateDir, { recursive: true, force: true });
  const lake = folderStats(join(output, "lake"), ".parquet");
  const staging = folderStats(join(output, "staging", configInput.projectId, "datalake"), ".parquet");
  const { validation } = summary;
  return {
    engine: "snaplake",
    seconds,
    ...usageSince(startCpu),
    outputBytes: lake.bytes,
    outputFiles: lake.files,
    partitions: lake.dirs.size,
    rows: validation.lake.rows,
    note:
      `validation ${validation.ok ? "ok" : "FAILED"}; ${validation.staging.badRows} bad rows kept, ` +
      `${validation.staging.dropped["natural-duplicates"] ?? 0} duplicates removed; sorted; staging ` +
      `${staging.files} files ${(staging.bytes / 1e6).toFixed(1)} MB; commit (step 4, Delta) ` +
      `${commitSeconds.toFixed(2)} s = ${((100 * commitSeconds) / seconds).toFixed(1)}%`,
  };
}

async function duckdbChild(input: string, output: string): Promise<ChildResult> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const columns = enrichedDuckdbColumns();
  const startCpu = process.cpuUsage();
  const start = performance.now();
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  // compression='auto' decides per file by its extension (part-00001.gz is gzip, part-00000 is plain).
  await connection.run(
    `COPY (SELECT *, strftime(collector_tstamp, '%Y-%m-%d') AS event_date ` +
      `FROM read_csv('${input}/*/part-*', delim='\\t', header=false, quote='', escape='', ` +
      `columns={${columns}}, ignore_errors=true, null_padding=false, compression='auto')) ` +
      `TO '${output}/lake' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date))`,
  );
  const seconds = (performance.now() - start) / 1000;
  const measured = usageSince(startCpu);
  const reader = await connection.runAndReadAll(
    `SELECT count(*)::BIGINT FROM read_parquet('${output}/lake/*/*.parquet')`,
  );
  const rows = Number(reader.getRows()[0]?.[0]);
  connection.closeSync();
  instance.closeSync();
  const lake = folderStats(join(output, "lake"), ".parquet");
  return {
    engine: "duckdb",
    seconds,
    ...measured,
    outputBytes: lake.bytes,
    outputFiles: lake.files,
    partitions: lake.dirs.size,
    rows,
    note: "ignore_errors: bad lines dropped unreported; no JSON checks, no dedupe, unsorted",
  };
}

function runChild(engine: Engine, input: string, workers: number): ChildResult & { load: string } {
  const output = mkdtempSync(join(OUT_DIR, `e2e-run-${engine}-`));
  const loadBefore = loadavg()[0]!;
  try {
    const result = runBenchChild<ChildResult>(import.meta.filename, [
      "--child",
      engine,
      "--input",
      input,
      "--output",
      output,
      "--workers",
      String(workers),
    ]);
    return { ...result, load: `${loadBefore.toFixed(1)}→${loadavg()[0]!.toFixed(1)}` };
  } finally {
    rmSync(output, { recursive: true, force: true });
  }
}

// --- main ----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "size-mb": { type: "string", default: "500" },
      seed: { type: "string", default: "2024" },
      repeat: { type: "string", default: "2" },
      "bad-share": { type: "string", default: "0.001" },
      workers: { type: "string", default: "2" },
      engines: { type: "string", default: "snaplake,duckdb" },
      child: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
    },
  });
  const workers = Number(values.workers);
  if (values.child) {
    const result =
      values.child === "snaplake"
        ? await snaplakeChild(values.input as string, values.output as string, workers)
        : await duckdbChild(values.input as string, values.output as string);
    reportToParent(result);
    return;
  }

  mkdirSync(OUT_DIR, { recursive: true });
  const input = await prepareInput(
    Number(values["size-mb"]),
    Number(values.seed),
    Number(values["bad-share"]),
  );
  const inputMb = input.truth.bytes / 1e6;
  console.log(
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  console.log(
    `input: ${inputMb.toFixed(1)} MB uncompressed TSV (${(input.diskBytes / 1e6).toFixed(1)} MB on disk), ` +
      `${input.files} files (half gzipped), ${input.days} days, ${input.truth.lines} lines, ${input.truth.bad} bad, ` +
      `${input.truth.naturalDuplicates} natural duplicates`,
  );

  const engines = (values.engines as string).split(",") as Engine[];
  const runs: Array<ChildResult & { load: string }> = [];
  for (let round = 0; round < Number(values.repeat); round++) {
    for (const engine of engines) runs.push(runChild(engine, input.root, workers));
  }

  console.log(
    "\nengine     seconds   MB/s  cpu s  peak RSS MB  output MB  files  parts      rows  load 1m  note",
  );
  for (const r of runs) {
    console.log(
      `${r.engine.padEnd(8)} ${r.seconds.toFixed(2).padStart(9)} ${(inputMb / r.seconds).toFixed(1).padStart(6)} ` +
        `${r.cpuSeconds.toFixed(1).padStart(6)} ${r.maxRssMb.toFixed(0).padStart(12)} ` +
        `${(r.outputBytes / 1e6).toFixed(1).padStart(10)} ${String(r.outputFiles).padStart(6)} ` +
        `${String(r.partitions).padStart(6)} ${String(r.rows).padStart(9)}  ${r.load.padEnd(9)}  ${r.note}`,
    );
  }
  const best = (engine: Engine) => Math.min(...runs.filter((r) => r.engine === engine).map((r) => r.seconds));
  if (runs.some((r) => r.engine === "snaplake") && runs.some((r) => r.engine === "duckdb")) {
    console.log(
      `\nbest: snaplake ${(inputMb / best("snaplake")).toFixed(1)} MB/s, duckdb ${(inputMb / best("duckdb")).toFixed(1)} MB/s`,
    );
    console.log(`throughput ratio (snaplake / duckdb): ${(best("duckdb") / best("snaplake")).toFixed(2)}`);
  }
}

await main();
