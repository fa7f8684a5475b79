/**
 * Opening a Delta table of many commits: `openDeltaTable` (list the log, read the newest checkpoint, replay
 * the JSON commits after it) on a table of `--commits` appends of one small file each, with a checkpoint
 * every 10 commits as snaplake writes them, against the same log without its checkpoints (every JSON
 * commit replayed).
 *
 *   npm run bench:table -- [--commits 1000] [--repeat 5]
 *
 * The table is built once with commitToDeltaTable (cached under bench/out/ by commit count); the copy
 * without checkpoints holds the same `_delta_log/*.json` files only. Each open is timed in this process,
 * after one untimed open (module loading, the file system cache); best and median of `--repeat` opens.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pl from "nodejs-polars";
import { createStorage } from "../src/storage/create.js";
import { commitToDeltaTable, openDeltaTable } from "../src/table/delta/index.js";

const OUT_DIR = join(import.meta.dirname, "out");
const DAYS = 10;

async function buildTable(folder: string, commits: number): Promise<void> {
  const storage = createStorage();
  const start = performance.now();
  for (let i = 0; i < commits; i++) {
    const day = `2024-06-${String((i % DAYS) + 1).padStart(2, "0")}`;
    const path = join(folder, `day=${day}`, `part-${String(i).padStart(6, "0")}.parquet`);
    const frame = pl.DataFrame({
      id: pl.Series("id", [i * 2, i * 2 + 1], pl.Int64),
      value: pl.Series("value", [`a${i}`, `b${i}`], pl.Utf8),
    });
    await storage.put(path, frame.writeParquet({ compression: "zstd" }));
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      commits: { type: "string", default: "1000" },
      repeat: { type: "string", default: "5" },
    },
  });
  const commits = Number(values.commits);
  const repeat = Number(values.repeat);
  mkdirSync(OUT_DIR, { recursive: true });
  const table = join(OUT_DIR, `table-open-${commits}-commits`);
  const complete = join(table, "_delta_log", `${String(commits - 1).padStart(20, "0")}.json`);
  if (!existsSync(complete)) {
    rmSync(table, { recursive: true, force: true });
    await buildTable(table, commits);
  }
  const plain = `${table}-no-checkpoints`;
  withoutCheckpoints(table, plain);
  const checkpoints = readdirSync(join(table, "_delta_log")).filter((n) => n.endsWith(".checkpoint.parquet"));

  console.log(
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
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
