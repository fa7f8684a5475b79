/**
 * Benchmark: Snowplow enriched TSV → typed zstd Parquet, snaplake's polars reader vs DuckDB, on the same
 * generated file.
 *
 *   npx tsx bench/snowplow-reader.ts [--mb 200] [--repeat 3] [--bad-share 0.001] [--keep]
 *
 * Each engine runs in its own child process, so its peak RSS (getrusage maxRSS) is its own and not mixed
 * with the generator's or the other engine's memory. Throughput = input MB / seconds from "start reading"
 * to "Parquet file written" inside the child (node startup and module loading excluded). Each child first
 * converts a small warm-up file (2,000 lines, another seed) the same way, untimed but printed: DuckDB opens
 * its database and snaplake builds its check plan and starts polars' thread pool once per process, as a
 * step-1.3 worker does for its first group, so the measured run is the steady-state throughput of both.
 * snaplake's side is the product path: `readEnrichedEventsAsync` (as step 1.3) and `frameToParquet` with
 * the lake's default settings (as step 2.3). Engines alternate, `--repeat` rounds; the last line compares
 * them by their best runs and by their mean times (single runs vary by ±15% on a busy or drifting VM).
 *
 * The two sides do not do the same work, and the output says so:
 *  - snaplake: reads all lines, types them, checks every field rule (ints, doubles, booleans, timestamps,
 *    required fields, JSON + Iglu URIs of the JSON columns), returns bad rows with their errors;
 *  - DuckDB: read_csv with explicit columns and types, quote='' escape='', ignore_errors=true (bad lines
 *    are dropped without a report; JSON columns are not validated).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseProjectConfig } from "../src/config.js";
import { frameToParquet } from "../src/frames/parquet.js";
import { EnrichedEventGenerator } from "../src/snowplow/generator.js";
import { SNOWPLOW_DEFAULTS } from "../src/snowplow/project.js";
import { readEnrichedEventsAsync } from "../src/snowplow/reader.js";
import { launchNote, peakRssMb, reportToParent, runBenchChild, usageSince } from "./child.js";
import { enrichedDuckdbColumns } from "./duckdb-columns.js";

/** One timed conversion inside a child. */
interface Conversion {
  seconds: number;
  cpuSeconds: number;
  outputBytes: number;
  rows: number;
  note: string;
}

interface ChildResult extends Conversion {
  /** The untimed first conversion of a small file (first-call costs: plan building, thread pools). */
  warmupSeconds: number;
  maxRssMb: number;
}

/** An engine opened once per child: it converts the warm-up file, then the measured input. */
interface ReaderEngine {
  convert(input: string, output: string): Promise<Conversion>;
  close(): void;
}

const OUT_DIR = join(import.meta.dirname, "out");
const WARMUP_LINES = 2000;

/** The lake writer's settings of a Snowplow project left at its defaults (zstd, 122,880-row groups). */
function lakeParquetOptions() {
  const config = parseProjectConfig({
    ...SNOWPLOW_DEFAULTS,
    projectId: "bench-reader",
    snapshot: { uri: "file:///unused/" },
    stagingUri: "file:///unused/staging/",
    datalakeUri: "file:///unused/lake/",
  });
  return { compression: config.compression, rowGroupSize: config.rowGroupSize };
}

async function openPolars(): Promise<ReaderEngine> {
  const parquetOptions = lakeParquetOptions();
  return {
    async convert(input, output) {
      const startCpu = process.cpuUsage();
      const start = performance.now();
      const bytes = readFileSync(input);
      // What a step 1.3 task of SnowplowEnrichedProject calls, then the lake writer of step 2.3.
      const { events, stats } = await readEnrichedEventsAsync(bytes, { source: input });
      const parquet = await frameToParquet(events, parquetOptions);
      writeFileSync(output, parquet);
      return {
        seconds: (performance.now() - start) / 1000,
        cpuSeconds: usageSince(startCpu).cpuSeconds,
        outputBytes: parquet.length,
        rows: events.height,
        note: `${stats.bad} bad rows reported`,
      };
    },
    close() {},
  };
}

async function openDuckdb(): Promise<ReaderEngine> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const columns = enrichedDuckdbColumns();
  return {
    async convert(input, output) {
      const startCpu = process.cpuUsage();
      const start = performance.now();
      await connection.run(
        `COPY (SELECT * FROM read_csv('${input}', delim='\\t', header=false, quote='', escape='', ` +
          `columns={${columns}}, ignore_errors=true, null_padding=false)) ` +
          `TO '${output}' (FORMAT parquet, COMPRESSION zstd)`,
      );
      const seconds = (performance.now() - start) / 1000;
      const { cpuSeconds } = usageSince(startCpu);
      const reader = await connection.runAndReadAll(
        `SELECT count(*)::INTEGER AS n FROM read_parquet('${output}')`,
      );
      return {
        seconds,
        cpuSeconds,
        outputBytes: statSync(output).size,
        rows: Number(reader.getRows()[0]?.[0]),
        note: "bad lines dropped silently (ignore_errors)",
      };
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

async function child(
  engineName: Engine,
  input: string,
  warmup: string,
  output: string,
): Promise<ChildResult> {
  const engine = engineName === "polars" ? await openPolars() : await openDuckdb();
  try {
    const warm = await engine.convert(warmup, `${output}.warmup`);
    rmSync(`${output}.warmup`, { force: true });
    const result = await engine.convert(input, output);
    return { ...result, warmupSeconds: warm.seconds, maxRssMb: peakRssMb() };
  } finally {
    engine.close();
  }
}

type Engine = "polars" | "duckdb";

function runChild(engine: Engine, input: string, warmup: string): ChildResult {
  const output = join(OUT_DIR, `snowplow-${engine}.parquet`);
  const result = runBenchChild<ChildResult>(import.meta.filename, [
    "--child",
    engine,
    "--input",
    input,
    "--warmup",
    warmup,
    "--output",
    output,
  ]);
  rmSync(output, { force: true });
  return result;
}

function generate(path: string, megabytes: number, badShare: number) {
  const generator = new EnrichedEventGenerator({ seed: 2024, badShare });
  const fd = openSync(path, "w");
  const start = performance.now();
  while (generator.truth.bytes < megabytes * 1e6) writeSync(fd, generator.linesBuffer(2000));
  closeSync(fd);
  const seconds = (performance.now() - start) / 1000;
  return { truth: generator.truth, seconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "200" },
      "bad-share": { type: "string", default: "0.001" },
      keep: { type: "boolean", default: false },
      repeat: { type: "string", default: "3" },
      child: { type: "string" },
      input: { type: "string" },
      warmup: { type: "string" },
      output: { type: "string" },
    },
  });
  if (values.child) {
    const engine = values.child as Engine;
    const result = await child(
      engine,
      values.input as string,
      values.warmup as string,
      values.output as string,
    );
    reportToParent(result);
    return;
  }

  mkdirSync(OUT_DIR, { recursive: true });
  const megabytes = Number(values.mb);
  const input = join(OUT_DIR, `snowplow-${megabytes}mb.tsv`);
  const { truth, seconds } = generate(input, megabytes, Number(values["bad-share"]));
  // Another seed, so no engine reads the measured file's first lines before it is timed.
  const warmup = join(OUT_DIR, "snowplow-warmup.tsv");
  writeFileSync(warmup, new EnrichedEventGenerator({ seed: 7, badShare: 0.01 }).linesBuffer(WARMUP_LINES));
  const inputMb = truth.bytes / 1e6;
  console.log(
    `generated ${inputMb.toFixed(1)} MB, ${truth.lines} lines (${truth.bad} bad) in ${seconds.toFixed(2)} s ` +
      `→ generator ${(inputMb / seconds).toFixed(0)} MB/s`,
  );

  // Alternating rounds, so a change in machine load hits both engines; the ratio compares the best runs.
  const runs: Array<[Engine, ChildResult]> = [];
  for (let round = 0; round < Number(values.repeat); round++) {
    for (const engine of ["polars", "duckdb"] as const) runs.push([engine, runChild(engine, input, warmup)]);
  }
  console.log("\nengine     seconds    MB/s   cpu s  warm-up s  peak RSS MB  parquet MB    rows  note");
  for (const [engine, r] of runs) {
    console.log(
      `${engine.padEnd(8)} ${r.seconds.toFixed(2).padStart(9)} ${(inputMb / r.seconds).toFixed(0).padStart(7)} ${r.cpuSeconds.toFixed(2).padStart(7)} ` +
        `${r.warmupSeconds.toFixed(2).padStart(10)} ` +
        `${r.maxRssMb.toFixed(0).padStart(12)} ${(r.outputBytes / 1e6).toFixed(1).padStart(11)} ${String(r.rows).padStart(7)}  ${r.note}`,
    );
  }
  const timesOf = (engine: Engine) => runs.filter(([name]) => name === engine).map(([, r]) => r.seconds);
  const best = (engine: Engine) => Math.min(...timesOf(engine));
  const mean = (engine: Engine) => timesOf(engine).reduce((a, b) => a + b) / timesOf(engine).length;
  console.log(
    `\nsnaplake/polars throughput = ${(best("duckdb") / best("polars")).toFixed(2)} × DuckDB's, best runs; ` +
      `${(mean("duckdb") / mean("polars")).toFixed(2)} × by mean times (>1 means snaplake is faster)`,
  );
  console.log("Peak RSS is measured per child process (each engine alone), so the numbers are not mixed.");
  console.log(launchNote());
  if (!values.keep) rmSync(input, { force: true });
  rmSync(warmup, { force: true });
}

await main();
