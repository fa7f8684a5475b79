/**
 * A database snapshot (Parquet files of `orders`) into a lake partitioned by year and month, with the
 * library API: subclass Project, say how to read a file group, run every step.
 *
 *   npx tsx examples/orders-snapshot-to-datalake/run.ts [work-dir]
 *
 * Runs on the embedded default (local folders + the embedded tracker): no AWS account needed. Point the
 * URIs at s3:// and set tracker.tableName to run the same code on AWS.
 */
import { resolve } from "node:path";
import pl from "nodejs-polars";
import {
  createStorage,
  openRuntime,
  Project,
  parseProjectConfig,
  type ReadContext,
  type SnapshotFileGroup,
} from "snaplake";
import { writeOrdersSnapshot } from "snaplake/testing";

class OrdersProject extends Project {
  // Step 1.3 calls this once per file group; readEach names the file if one can't be decoded.
  override async batchReadSnapshotDataFile(_group: SnapshotFileGroup, context: ReadContext) {
    return context.readEach((bytes) => pl.readParquet(bytes));
  }

  // Partition keys computed from the data.
  override derivedColumns() {
    return [
      { name: "year", expr: pl.col("order_time").dt.strftime("%Y") },
      { name: "month", expr: pl.col("order_time").dt.strftime("%m") },
    ];
  }
}

const root = resolve(process.argv[2] ?? ".snaplake/examples/orders");
const storage = createStorage();
await writeOrdersSnapshot(storage, `${root}/snapshot/`, { rows: 100_000, files: 6, duplicateShare: 0.05 });

const config = {
  projectId: "orders-example",
  snapshot: { uri: `${root}/snapshot/` },
  stagingUri: `${root}/staging/`,
  datalakeUri: `${root}/datalake/`,
  partitionKeys: ["year", "month"],
  sortBy: ["order_time", "order_id"],
  recordIdColumn: "order_id", // keep the latest version of each order...
  updateTimeColumn: "updated_at", // ...by this column
  targetFileGroupSize: "1MB",
  targetParquetFileSize: "256KB",
};
const runtime = await openRuntime(parseProjectConfig(config), { stateDir: `${root}/state` });
try {
  const project = new OrdersProject(config, runtime);
  const summary = await project.runAll({ workers: 2 });
  const v = summary.validation;
  console.log(`lake: ${project.locations.datalake}`);
  console.log(
    `partitions: ${v.lake.partitions}, files: ${v.lake.files}, rows: ${v.lake.rows}, duplicates removed: ${v.lake.duplicatesRemoved}`,
  );
  console.log(`validation: ${v.ok ? "ok" : "FAILED"} (${project.locations.validationResult})`);
} finally {
  await runtime.close();
}
