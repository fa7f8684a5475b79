/**
 * Benchmark: Snowplow enriched TSV → typed zstd Parquet, snaplake's polars reader vs DuckDB, on the same
 * generated file.
 *
 *   npx tsx bench/snowplow-reader.ts [--mb 200] [--repeat 3] [--bad-share 0.001] [--keep]
 *
 * Each engine runs in its own child process, so its peak RSS (getrusage maxRSS) is its own and not mixed
 * with the generator's or the other engine's memory. Throughput = input MB / seconds from "start reading"
 * to "Parquet file written" inside the child (node startup and module loading excluded).
 *
 * The two sides do not do the same work, and the output says so:
 *  - snaplake: reads all lines, types them, checks every field rule (ints, doubles, booleans, timestamps,
 *    required fields, JSON + Iglu URIs of the JSON columns), returns bad rows with their errors;
 *  - DuckDB: read_csv with explicit columns and types, quote='' escape='', ignore_errors=true (bad lines
 *    are dropped without a report; JSON columns are not validated).
 */
import { execFileSync } from "node:child_process";
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
import { EnrichedEventGenerator } from "../src/snowplow/generator.js";
import { readEnrichedEvents } from "../src/snowplow/reader.js";
import { enrichedDuckdbColumns } from "./duckdb-columns.js";

interface ChildResult {
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  outputBytes: number;
  rows: number;
  note: string;
}

const OUT_DIR = join(import.meta.dirname, "out");

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

async function polarsChild(input: string, output: string): Promise<ChildResult> {
  const startCpu = process.cpuUsage();
  const start = performance.now();
  const bytes = readFileSync(input);
  const { events, stats } = readEnrichedEvents(bytes, { source: input });
  const parquet = events.writeParquet({ compression: "zstd" });
  writeFileSync(output, parquet);
  const seconds = (performance.now() - start) / 1000;
  return {
    seconds,
    cpuSeconds: cpuSince(startCpu),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    outputBytes: parquet.length,
    rows: events.height,
    note: `${stats.bad} bad rows reported`,
  };
}

async function duckdbChild(input: string, output: string): Promise<ChildResult> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const columns = enrichedDuckdbColumns();
  const startCpu = process.cpuUsage();
  const start = performance.now();
  await connection.run(
    `COPY (SELECT * FROM read_csv('${input}', delim='\\t', header=false, quote='', escape='', ` +
      `columns={${columns}}, ignore_errors=true, null_padding=false)) ` +
      `TO '${output}' (FORMAT parquet, COMPRESSION zstd)`,
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = cpuSince(startCpu);
  const reader = await connection.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM read_parquet('${output}')`,
  );
  const rows = Number(reader.getRows()[0]?.[0]);
  connection.closeSync();
  instance.closeSync();
  return {
    seconds,
    cpuSeconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    outputBytes: statSync(output).size,
    rows,
    note: "bad lines dropped silently (ignore_errors)",
  };
}

type Engine = "polars" | "duckdb";

function runChild(engine: Engine, input: string): ChildResult {
  const output = join(OUT_DIR, `snowplow-${engine}.parquet`);
  const stdout = execFileSync(
    process.execPath,
    ["--import", "tsx", import.meta.filename, "--child", engine, "--input", input, "--output", output],
    { encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "inherit"] },
  );
  rmSync(output, { force: true });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as ChildResult;
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
      output: { type: "string" },
    },
  });
  if (values.child) {
    const run = values.child === "polars" ? polarsChild : duckdbChild;
    const result = await run(values.input as string, values.output as string);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }

  mkdirSync(OUT_DIR, { recursive: true });
  const megabytes = Number(values.mb);
  const input = join(OUT_DIR, `snowplow-${megabytes}mb.tsv`);
  const { truth, seconds } = generate(input, megabytes, Number(values["bad-share"]));
  const inputMb = truth.bytes / 1e6;
  console.log(
    `generated ${inputMb.toFixed(1)} MB, ${truth.lines} lines (${truth.bad} bad) in ${seconds.toFixed(2)} s ` +
      `→ generator ${(inputMb / seconds).toFixed(0)} MB/s`,
  );

  // Alternating rounds, so a change in machine load hits both engines; the ratio compares the best runs.
  const runs: Array<[Engine, ChildResult]> = [];
  for (let round = 0; round < Number(values.repeat); round++) {
    for (const engine of ["polars", "duckdb"] as const) runs.push([engine, runChild(engine, input)]);
  }
  console.log("\nengine     seconds    MB/s   cpu s  peak RSS MB  parquet MB    rows  note");
  for (const [engine, r] of runs) {
    console.log(
      `${engine.padEnd(8)} ${r.seconds.toFixed(2).padStart(9)} ${(inputMb / r.seconds).toFixed(0).padStart(7)} ${r.cpuSeconds.toFixed(2).padStart(7)} ` +
        `${r.maxRssMb.toFixed(0).padStart(12)} ${(r.outputBytes / 1e6).toFixed(1).padStart(11)} ${String(r.rows).padStart(7)}  ${r.note}`,
    );
  }
  const best = (engine: Engine) =>
    Math.min(...runs.filter(([name]) => name === engine).map(([, r]) => r.seconds));
  const ratio = best("duckdb") / best("polars");
  console.log(
    `\nsnaplake/polars throughput = ${ratio.toFixed(2)} × DuckDB's, best runs (>1 means snaplake is faster)`,
  );
  console.log("Peak RSS is measured per child process (each engine alone), so the numbers are not mixed.");
  if (!values.keep) rmSync(input, { force: true });
}

await main();
