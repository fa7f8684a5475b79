/**
 * End-to-end benchmark: a Snowplow enriched archive (run folders, plain + .gz part files) into an
 * `event_date`-partitioned zstd Parquet lake, snaplake vs DuckDB, on the same input.
 *
 *   npm run bench -- [--size-mb 500] [--seed 2024] [--repeat 3] [--bad-share 0.001] [--workers 2]
 *
 * - Input: `writeEnrichedArchive`, one call per day (so there are several event_date partitions), files of
 *   ~12–16 MB uncompressed, every second one gzipped. Cached under bench/out/ by size + seed + bad share +
 *   a hash of the generator's first lines, so repeated runs skip generation. "MB" below is always uncompressed TSV (10^6 bytes), whatever is gzipped.
 * - snaplake: `SnowplowEnrichedProject.runAll` (all steps: manifest, plan, read + validate + de-duplicate +
 *   stage, plan, compact + sort, validate, commit) on local storage with the embedded tracker (dynalite in a
 *   temp state folder), `workers` tasks at a time, into a Delta table; the note gives step 4's (the Delta
 *   commit's) share of the time, from its task's start and finish.
 * - DuckDB: one `COPY (SELECT ... FROM read_csv(...) ORDER BY <sortBy>) TO dir (FORMAT parquet, COMPRESSION
 *   zstd, ROW_GROUP_SIZE <the lake's>, PARTITION_BY (event_date))`: the same lake layout as snaplake's (sorted
 *   within each file, same row groups and codec); the child counts the rows DuckDB left out of order.
 *   `ignore_errors=true` is needed: the input has malformed lines (as real archives do) and without it the
 *   COPY aborts at the first one. DuckDB therefore drops bad lines silently, keeps lines snaplake rejects
 *   (empty required fields, broken JSON/Iglu) and does not de-duplicate: it still does less work than
 *   snaplake, which is the point of comparing against it.
 *
 * Each engine runs in its own child process, so peak RSS (getrusage maxRSS) is per engine; engines
 * alternate (snaplake, duckdb, snaplake, ...) so a change in machine load hits both. Seconds are measured in
 * the child from "start" (runtime / database open) to "lake written", without Node start-up and module
 * loading. snaplake runs its steps one by one as runAll does, each timed (wall and CPU seconds). The last
 * line is the ratio of the mean seconds over the alternating rounds (default 3):
 * `throughput ratio (snaplake / duckdb): X.XX`; the best-run ratio, the CPU-seconds ratio and the peak RSS
 * are printed above it.
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
import { openRuntime } from "../src/runtime.js";
import {
  addGroundTruth,
  EnrichedEventGenerator,
  emptyGroundTruth,
  type GroundTruth,
  writeEnrichedArchive,
} from "../src/snowplow/generator.js";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "../src/snowplow/project.js";
import { Step } from "../src/steps/catalogue.js";
import { launchNote, reportToParent, runBenchChild, usageSince } from "./child.js";
import { enrichedDuckdbColumns } from "./duckdb-columns.js";
import { generatorTag } from "./generator-tag.js";

const OUT_DIR = join(import.meta.dirname, "out");
const DAY_MS = 86_400_000;
const FILES_PER_RUN = 4;
const TARGET_FILE_BYTES = 16e6;

type Engine = "snaplake" | "duckdb";

/** One step's share of a snaplake run: wall and CPU seconds. */
interface StepTime {
  step: string;
  seconds: number;
  cpuSeconds: number;
}

interface ChildResult {
  engine: Engine;
  seconds: number;
  cpuSeconds: number;
  /** snaplake only: each step's time, in run order. */
  steps?: StepTime[];
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
  const steps: StepTime[] = [];
  // The steps as runAll runs them, each one timed (wall and this process's CPU).
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const cpu = process.cpuUsage();
    const at = performance.now();
    const result = await run();
    const used = process.cpuUsage(cpu);
    steps.push({
      step,
      seconds: (performance.now() - at) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
    });
    return result;
  };
  let validation: Awaited<ReturnType<SnowplowEnrichedProject["step3ValidateDatalake"]>>;
  try {
    const project = new SnowplowEnrichedProject(configInput, runtime);
    await timed("0", () => project.step0BuildManifest());
    await timed("1.1", () => project.step1_1PlanSnapshotToStaging());
    await timed("1.3", () => project.drain(Step.snapshotToStaging, { workers }));
    await timed("2.1", () => project.step2_1PlanStagingToDatalake());
    await timed("2.3", () => project.drain(Step.stagingToDatalake, { workers }));
    validation = await timed("3", () => project.step3ValidateDatalake());
    await timed("4", () => project.step4Commit());
  } finally {
    await runtime.close();
  }
  const seconds = (performance.now() - start) / 1000;
  rmSync(stateDir, { recursive: true, force: true });
  const lake = folderStats(join(output, "lake"), ".parquet");
  const stagingFolder = join(output, "staging", configInput.projectId, "datalake");
  const staging = existsSync(stagingFolder) ? folderStats(stagingFolder, ".parquet") : { files: 0, bytes: 0 };
  const commitSeconds = steps.find((s) => s.step === "4")?.seconds ?? Number.NaN;
  return {
    engine: "snaplake",
    seconds,
    ...usageSince(startCpu),
    steps,
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

/** The lake layout both engines write: snaplake's Snowplow defaults and config defaults. */
function lakeLayout(): { sortBy: string[]; rowGroupSize: number; compression: string } {
  const config = parseProjectConfig({
    ...SNOWPLOW_DEFAULTS,
    projectId: "bench-layout",
    snapshot: { uri: "file:///unused/" },
    stagingUri: "file:///unused-staging/",
    datalakeUri: "file:///unused-lake/",
  });
  return {
    sortBy: config.sortBy.map((key) => `${key.column}${key.descending ? " DESC" : ""}`),
    rowGroupSize: config.rowGroupSize,
    compression: config.compression,
  };
}

async function duckdbChild(input: string, output: string): Promise<ChildResult> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const columns = enrichedDuckdbColumns();
  const layout = lakeLayout();
  const startCpu = process.cpuUsage();
  const start = performance.now();
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  // compression='auto' decides per file by its extension (part-00001.gz is gzip, part-00000 is plain).
  // The same lake as snaplake's: rows in sortBy order (NULLS LAST, as snaplake), its row groups and codec.
  await connection.run(
    `COPY (SELECT *, strftime(collector_tstamp, '%Y-%m-%d') AS event_date ` +
      `FROM read_csv('${input}/*/part-*', delim='\\t', header=false, quote='', escape='', ` +
      `columns={${columns}}, ignore_errors=true, null_padding=false, compression='auto') ` +
      `ORDER BY ${layout.sortBy.map((key) => `${key} NULLS LAST`).join(", ")}) ` +
      `TO '${output}/lake' (FORMAT parquet, COMPRESSION ${layout.compression}, ` +
      `ROW_GROUP_SIZE ${layout.rowGroupSize}, PARTITION_BY (event_date))`,
  );
  const seconds = (performance.now() - start) / 1000;
  const measured = usageSince(startCpu);
  const reader = await connection.runAndReadAll(
    `SELECT count(*)::BIGINT FROM read_parquet('${output}/lake/*/*.parquet')`,
  );
  const rows = Number(reader.getRows()[0]?.[0]);
  // Whether a partitioned COPY keeps the ORDER BY within each file: rows that come before their predecessor.
  const keys = layout.sortBy.map((key) => key.split(" ")[0]!);
  const order = keys.join(", ");
  const outOfOrder = await connection.runAndReadAll(
    `SELECT count(*)::BIGINT FROM (SELECT (${order}) AS key, lag((${order})) OVER ` +
      `(PARTITION BY filename ORDER BY file_row_number) AS previous ` +
      `FROM read_parquet('${output}/lake/*/*.parquet', filename=true, file_row_number=true)) ` +
      `WHERE previous > key`,
  );
  const unsorted = Number(outOfOrder.getRows()[0]?.[0]);
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
    note: `ignore_errors: bad lines dropped unreported; no JSON checks, no dedupe; sorted, ${unsorted} rows out of order`,
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
      repeat: { type: "string", default: "3" },
      "bad-share": { type: "string", default: "0.001" },
      workers: { type: "string", default: "2" },
      engines: { type: "string", default: "snaplake,duckdb" },
      child: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
      "prepare-only": { type: "boolean", default: false },
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
  if (values["prepare-only"]) {
    // For bench/ab.ts: the input both revisions read, as the last line.
    reportToParent({ root: input.root, mb: input.truth.bytes / 1e6 });
    return;
  }
  const inputMb = input.truth.bytes / 1e6;
  console.log(
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  console.log(launchNote());
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
  printStepTable(runs);
  const of = (engine: Engine) => runs.filter((r) => r.engine === engine);
  if (of("snaplake").length > 0 && of("duckdb").length > 0) {
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const seconds = (engine: Engine) => of(engine).map((r) => r.seconds);
    const cpu = (engine: Engine) => mean(of(engine).map((r) => r.cpuSeconds));
    const rss = (engine: Engine) => Math.max(...of(engine).map((r) => r.maxRssMb));
    const best = (engine: Engine) => Math.min(...seconds(engine));
    console.log(
      `\nmean of ${of("snaplake").length} alternating rounds: snaplake ${mean(seconds("snaplake")).toFixed(2)} s, ` +
        `duckdb ${mean(seconds("duckdb")).toFixed(2)} s; CPU s snaplake / duckdb: ${(cpu("snaplake") / cpu("duckdb")).toFixed(2)} ` +
        `(${cpu("snaplake").toFixed(1)} / ${cpu("duckdb").toFixed(1)}); peak RSS snaplake ${rss("snaplake").toFixed(0)} MB, duckdb ${rss("duckdb").toFixed(0)} MB`,
    );
    console.log(
      `best run: snaplake ${(inputMb / best("snaplake")).toFixed(1)} MB/s, duckdb ${(inputMb / best("duckdb")).toFixed(1)} MB/s, ` +
        `best-run ratio ${(best("duckdb") / best("snaplake")).toFixed(2)}; load average now ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(
      `throughput ratio (snaplake / duckdb): ${(mean(seconds("duckdb")) / mean(seconds("snaplake"))).toFixed(2)}`,
    );
  }
}

/** Each step's wall and CPU seconds, per snaplake run and as the mean share of the run. */
function printStepTable(runs: readonly ChildResult[]): void {
  const timed = runs.filter((r) => r.steps && r.steps.length > 0);
  if (timed.length === 0) return;
  const names = timed[0]!.steps!.map((s) => s.step);
  console.log(`\nsnaplake per step (wall s / CPU s)  ${names.map((n) => `step ${n}`.padStart(13)).join("")}`);
  for (const [index, run] of timed.entries()) {
    const cells = run.steps!.map((s) => `${s.seconds.toFixed(2)}/${s.cpuSeconds.toFixed(2)}`.padStart(13));
    console.log(`  run ${index + 1}${" ".repeat(30)}${cells.join("")}`);
  }
  const total = timed.reduce((n, r) => n + r.seconds, 0);
  const shares = names.map((name) => {
    const spent = timed.reduce((n, r) => n + (r.steps!.find((s) => s.step === name)?.seconds ?? 0), 0);
    return `${((100 * spent) / total).toFixed(0)}%`.padStart(13);
  });
  console.log(`  share of the run's wall time     ${shares.join("")}`);
}

await main();
