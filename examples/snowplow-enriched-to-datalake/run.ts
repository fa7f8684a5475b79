/**
 * A Snowplow enriched archive (run=YYYY-MM-DD-HH-mm-ss/ folders of TSV and .gz files) into a typed Parquet
 * lake partitioned by event date, with bad lines kept and natural duplicates removed.
 *
 *   npx tsx examples/snowplow-enriched-to-datalake/run.ts [work-dir]
 *
 * Uses a generated archive; to use yours, set `snapshot.uri` to its folder (local or s3://).
 */
import { resolve } from "node:path";
import { openRuntime, parseProjectConfig } from "snaplake";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "snaplake/snowplow";
import { writeEnrichedArchive } from "snaplake/testing";

const root = resolve(process.argv[2] ?? ".snaplake/examples/snowplow");
const archive = await writeEnrichedArchive({
  root: `${root}/archive`,
  runs: 3,
  filesPerRun: 2,
  linesPerFile: 2000,
  badShare: 0.01,
  seed: 3,
});

const config = {
  projectId: "snowplow-example",
  snapshot: { uri: `${root}/archive/` },
  stagingUri: `${root}/staging/`,
  datalakeUri: `${root}/datalake/`,
  targetFileGroupSize: "4MB",
  targetParquetFileSize: "2MB",
  ...SNOWPLOW_DEFAULTS, // partition by event_date, sort by collector_tstamp and event_id
};
const runtime = await openRuntime(parseProjectConfig(config), { stateDir: `${root}/state` });
try {
  const project = new SnowplowEnrichedProject(config, runtime, { dedupe: true });
  const { validation: v } = await project.runAll({ workers: 2 });
  console.log(
    `input lines: ${archive.truth.lines} (generated: ${archive.truth.bad} bad, ${archive.truth.naturalDuplicates} natural duplicates)`,
  );
  console.log(
    `read ${v.staging.rowsRead}, kept ${v.lake.rows}, bad rows ${v.staging.badRows}, dropped ${JSON.stringify(v.staging.dropped)}`,
  );
  console.log(`lake: ${project.locations.datalake} (${v.lake.partitions} partitions, ${v.lake.files} files)`);
  console.log(`validation: ${v.ok ? "ok" : "FAILED"}`);
  process.exitCode = v.ok ? 0 : 1;
} finally {
  await runtime.close();
}
