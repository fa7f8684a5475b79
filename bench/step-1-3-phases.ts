/**
 * Where step 1.3's time goes: one snapshot group of the `npm run bench` archive (one day, ~100 MB of TSV),
 * taken apart into the phases processSnapshotGroup runs, each timed (wall and CPU seconds of this process;
 * polars' threads count in the CPU seconds). Reference lines (marked "ref") time an alternative of the
 * phase above them (the CSV split alone, encoding without the sort, sorting before the sink) so that each
 * phase's own cost shows. The last line runs the whole step-1.3 task on the same group, as a worker does.
 *
 *   npx tsx bench/step-1-3-phases.ts [--size-mb 500] [--seed 2024] [--group 0]
 *
 * The input is the archive bench/e2e.ts generates (and caches) for the same size and seed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pl from "nodejs-polars";
import pLimit from "p-limit";
import { parseProjectConfig } from "../src/config.js";
import { categoricalToString } from "../src/frames/convert.js";
import { frameToParquet } from "../src/frames/parquet.js";
import { readJson, snapshotFileGroupSchema } from "../src/models/manifests.js";
import { openRuntime } from "../src/runtime.js";
import { ENRICHED_FIELDS } from "../src/snowplow/fields.js";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "../src/snowplow/project.js";
import { readEnrichedEventsAsync } from "../src/snowplow/reader.js";
import { type SnapshotGroupTaskInput, Step } from "../src/steps/catalogue.js";
import {
  applyDerivedColumns,
  createReadContext,
  splitByPartition,
} from "../src/steps/step-1-3-process-snapshot-group.js";
import { sortedLazy, sortFrame } from "../src/steps/step-2-3-compact-partition-group.js";
import { runBenchChild } from "./child.js";

const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "500" },
    seed: { type: "string", default: "2024" },
    group: { type: "string", default: "0" },
  },
});

const input = runBenchChild<{ root: string }>(join(import.meta.dirname, "e2e.ts"), [
  "--prepare-only",
  "--size-mb",
  values["size-mb"] as string,
  "--seed",
  values.seed as string,
]);

const rows: Array<{ phase: string; seconds: number; cpuSeconds: number }> = [];
async function timed<T>(phase: string, run: () => Promise<T> | T): Promise<T> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await run();
  const used = process.cpuUsage(cpu);
  rows.push({
    phase,
    seconds: (performance.now() - start) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  });
  return result;
}

const output = mkdtempSync(join(tmpdir(), "snaplake-phases-"));
const configInput = {
  ...SNOWPLOW_DEFAULTS,
  projectId: "bench-phases",
  snapshot: { uri: `file://${input.root}/` },
  stagingUri: `file://${output}/staging/`,
  datalakeUri: `file://${output}/lake/`,
};
const config = parseProjectConfig(configInput);
const runtime = await openRuntime(config, { stateDir: join(output, "state") });
try {
  const project = new SnowplowEnrichedProject(configInput, runtime);
  await project.step1_1PlanSnapshotToStaging();
  const tasks = await project.tracker.list(project.projectId, Step.snapshotToStaging);
  const task = [...tasks].sort((a, b) => (a.taskId < b.taskId ? -1 : 1))[Number(values.group)]!;
  const groupUri = (task.input as SnapshotGroupTaskInput).groupUri;
  const group = await readJson(runtime.storage, groupUri, snapshotFileGroupSchema);
  const context = createReadContext(runtime.storage, group, new AbortController().signal);
  const layout = { compression: config.compression, rowGroupSize: config.rowGroupSize, statistics: true };

  const limit = pLimit(4);
  const texts = await timed("read files (get + gunzip, 4 at a time)", () =>
    Promise.all(group.files.map((file) => limit(() => context.readFile(file.uri)))),
  );
  const mb = texts.reduce((n, text) => n + text.length, 0) / 1e6;
  await timed("  ref: polars CSV split alone (131 string columns)", () =>
    pl.readCSV(Buffer.concat(texts), {
      sep: "\t",
      hasHeader: false,
      quoteChar: undefined,
      schema: Object.fromEntries(ENRICHED_FIELDS.map((f) => [f.name, pl.String])),
      nullValues: "",
      truncateRaggedLines: true,
    }),
  );
  const read = await timed("reader (split, type, validate, JSON, dedupe)", () =>
    readEnrichedEventsAsync(texts, { source: "bench", dedupe: true }),
  );
  const frame = await timed("derived columns", () =>
    categoricalToString(applyDerivedColumns(read.events, project.derivedColumns())),
  );
  const parts = await timed("split by partition", () => splitByPartition(frame, config.partitionKeys));
  const encoded = await timed("sort + encode in the sink (as step 1.3)", () =>
    Promise.all(parts.map((part) => frameToParquet(sortedLazy(part.rows, config.sortBy), layout))),
  );
  await timed("  ref: sort, then encode", () =>
    Promise.all(parts.map((part) => frameToParquet(sortFrame(part.rows, config.sortBy), layout))),
  );
  await timed("  ref: encode without sorting", () =>
    Promise.all(parts.map((part) => frameToParquet(part.rows, layout))),
  );
  await timed("put staging files", () =>
    Promise.all(
      encoded.map((bytes, i) => runtime.storage.put(`file://${output}/staging/put-${i}.parquet`, bytes)),
    ),
  );
  await timed("whole step-1.3 task (same group, warm)", () =>
    project.step1_3ProcessSnapshotGroup(task.taskId),
  );

  console.log(
    `group ${values.group}: ${group.files.length} files, ${mb.toFixed(1)} MB of TSV, ${read.stats.lines} lines, ` +
      `${parts.length} partition(s); load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(`${"phase".padEnd(52)} ${"wall s".padStart(7)} ${"CPU s".padStart(7)}`);
  for (const row of rows) {
    console.log(
      `${row.phase.padEnd(52)} ${row.seconds.toFixed(2).padStart(7)} ${row.cpuSeconds.toFixed(2).padStart(7)}`,
    );
  }
} finally {
  await runtime.close();
  rmSync(output, { recursive: true, force: true });
}
