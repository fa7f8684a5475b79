/**
 * `snaplake demo` (npm run demo): the whole job on the embedded default, no AWS account. Generates a sample
 * Snowplow enriched archive (several runs, plain and gzip files, duplicates, some bad lines) under
 * `.snaplake/demo/`, runs every step with local folders and the embedded tracker, and prints where the lake
 * is, its partitions and row counts, the bad rows and the validation result. Running it again is safe: the
 * archive is generated once, finished steps are not redone.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { describeRunTable } from "../display.js";
import { ExitCode } from "../exit-codes.js";
import { withProject } from "../session.js";

const DEMO_CONFIG = {
  projectId: "snowplow-demo",
  snapshot: { uri: "./archive/" },
  reader: { format: "snowplow-enriched", shred: false, dedupe: true },
  stagingUri: "./lake/staging/",
  datalakeUri: "./lake/datalake/",
  partitionKeys: ["event_date", "event_name"],
  sortBy: ["collector_tstamp", "event_id"],
  targetFileGroupSize: "2MB",
  targetParquetFileSize: "1MB",
};

/** The demo's archive: 4 runs × 3 files × 1,500 lines, 1% bad (docs/snowplow-archives.md counts it). */
export const DEMO_ARCHIVE = {
  runs: 4,
  filesPerRun: 3,
  linesPerFile: 1500,
  badShare: 0.01,
  seed: 7,
  // Events are ~50 ms apart: starting before midnight spreads them over two dates.
  startTime: new Date("2024-03-01T23:55:00Z"),
};

export function register(program: Command): void {
  program
    .command("demo")
    .description("generate a sample Snowplow archive and run the whole workflow on the embedded default")
    .option("-d, --dir <dir>", "where the demo lives", ".snaplake/demo")
    .action(
      action(async (options) => {
        const dir = resolve(options.dir);
        const configPath = join(dir, "snaplake.config.json");
        if (!existsSync(configPath)) {
          process.stderr.write(`generating a sample enriched archive in ${join(dir, "archive")} ...\n`);
          const { writeEnrichedArchive } = await import("../../snowplow/generator.js");
          const archive = await writeEnrichedArchive({ root: join(dir, "archive"), ...DEMO_ARCHIVE });
          await writeFile(join(dir, "ground-truth.json"), `${JSON.stringify(archive.truth, null, 2)}\n`);
          // Written last: its presence means the archive is complete.
          await writeFile(configPath, `${JSON.stringify(DEMO_CONFIG, null, 2)}\n`);
        }
        return withProject(
          { config: configPath, stateDir: join(dir, "state"), progress: true },
          async ({ project, runOptions, display }) => {
            const summary = await project.runAll({ workers: 2, ...runOptions });
            display?.stop();
            if (display) process.stdout.write(`\n${describeRunTable(display.records(), summary)}\n`);
            const v = summary.validation;
            const out = process.stdout;
            out.write(`\nsnaplake demo: ${v.ok ? "the lake validates" : "VALIDATION FAILED"}\n`);
            out.write(
              `  archive:    ${join(dir, "archive")} (${v.snapshot.files} files, ${v.snapshot.bytes} bytes)\n`,
            );
            out.write(`  lake:       ${project.locations.datalake}\n`);
            out.write(`  partitions: ${v.lake.partitions}, files: ${v.lake.files}, rows: ${v.lake.rows}\n`);
            const width = Math.max(0, ...v.partitions.map((p) => p.partition.length));
            for (const p of v.partitions)
              out.write(
                `    ${p.partition.padEnd(width)} ${String(p.lakeRows).padStart(7)} rows in ${p.lakeFiles} file(s)\n`,
              );
            out.write(
              `  lines read: ${v.staging.rowsRead}, bad rows: ${v.staging.badRows} (in ${project.locations.staging}bad-rows/)\n`,
            );
            out.write(`  duplicates dropped: ${JSON.stringify(v.staging.dropped)}\n`);
            out.write(`  validation: ${project.locations.validationResult}\n`);
            out.write(
              `  inspect the tracker: npx snaplake status --config ${configPath} --state-dir ${join(dir, "state")}\n`,
            );
            return v.ok ? ExitCode.ok : ExitCode.failed;
          },
        );
      }),
    );
}
