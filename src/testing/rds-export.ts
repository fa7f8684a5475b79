/**
 * Deterministic RDS/Aurora snapshot exports, for tests and demos: the folder layout, info files and
 * Parquet part files of AWS's "File naming conventions for exports to Amazon S3"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ExportSnapshot.FileNames.html), with tables
 * of typed order rows, and tables whose export FAILED or was SKIPPED.
 */
import pl from "nodejs-polars";
import { rdsTableFolder } from "../models/rds-export-manifest.js";
import { seededRandom } from "../samples/random.js";
import type { Storage } from "../storage/types.js";
import { asFolder, joinUri, normalizeUri } from "../storage/uri.js";

export interface RdsExportTableSpec {
  /** `database.schema.table` (PostgreSQL) or `database.table` (MySQL). */
  target: string;
  rows: number;
  /** Default COMPLETE; a FAILED or SKIPPED table gets a warning message and no data files. */
  status?: "COMPLETE" | "FAILED" | "SKIPPED";
  /** Batch folders (`1/`, `2/`...), each with `filesPerBatch` part files. Default 2 and 2. */
  batches?: number;
  filesPerBatch?: number;
}

export interface GeneratedRdsExport {
  /** `{baseUri}{exportId}/`. */
  folder: string;
  /** Every COMPLETE table's rows, in the order written. */
  tables: Map<string, pl.DataFrame>;
}

/** The column types of the sample tables, as the export's Parquet files hold them. */
export const RDS_SAMPLE_SCHEMA = {
  order_id: pl.Int64,
  customer_id: pl.Int32,
  amount: pl.Float64,
  status: pl.String,
  paid: pl.Bool,
  created_at: pl.Datetime("us"),
  order_date: pl.Date,
};

const STATUSES = ["new", "paid", "shipped", "cancelled"];

function sampleRows(random: () => number, count: number, firstId: number): pl.DataFrame {
  const created = Array.from(
    { length: count },
    () => new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 120 * 86_400) * 1000),
  );
  return pl
    .DataFrame({
      order_id: pl.Series(
        "order_id",
        Array.from({ length: count }, (_, i) => firstId + i),
        pl.Int64,
      ),
      customer_id: pl.Series(
        "customer_id",
        Array.from({ length: count }, () => 1 + Math.floor(random() * 500)),
        pl.Int32,
      ),
      amount: pl.Series(
        "amount",
        Array.from({ length: count }, () => Math.floor(random() * 1_000_000) / 100),
        pl.Float64,
      ),
      status: pl.Series(
        "status",
        Array.from({ length: count }, () => STATUSES[Math.floor(random() * STATUSES.length)]!),
        pl.String,
      ),
      paid: pl.Series(
        "paid",
        Array.from({ length: count }, () => random() < 0.6),
        pl.Bool,
      ),
      created_at: pl.Series("created_at", created, pl.Datetime("ms")),
    })
    .withColumns(
      pl.col("created_at").cast(pl.Datetime("us")).alias("created_at"),
      pl.col("created_at").cast(pl.Date).alias("order_date"),
    );
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An export of the given tables under `{baseUri}{exportId}/`, written as AWS lays it out. */
export async function generateRdsExport(
  storage: Storage,
  options: { baseUri: string; exportId: string; seed?: number; tables: RdsExportTableSpec[] },
): Promise<GeneratedRdsExport> {
  const random = seededRandom(options.seed ?? 1);
  const folder = joinUri(asFolder(normalizeUri(options.baseUri)), `${options.exportId}/`);
  const tables = new Map<string, pl.DataFrame>();
  const perTableStatus: Array<Record<string, unknown>> = [];
  for (const spec of options.tables) {
    const status = spec.status ?? "COMPLETE";
    if (status !== "COMPLETE") {
      perTableStatus.push({
        target: spec.target,
        status,
        warningMessage:
          status === "FAILED" ? "Export of this table failed: internal error" : "Table was skipped",
      });
      continue;
    }
    const batches = spec.batches ?? 2;
    const filesPerBatch = spec.filesPerBatch ?? 2;
    const parts = batches * filesPerBatch;
    const frames: pl.DataFrame[] = [];
    let written = 0;
    for (let part = 0; part < parts; part++) {
      const rows = Math.floor((spec.rows * (part + 1)) / parts) - written;
      const frame = sampleRows(random, rows, written + 1);
      written += rows;
      frames.push(frame);
      const batch = 1 + Math.floor(part / filesPerBatch);
      const index = String(part % filesPerBatch).padStart(5, "0");
      const name = `${rdsTableFolder(spec.target)}${batch}/part-${index}-${uuid(random)}.gz.parquet`;
      await storage.put(joinUri(folder, name), frame.writeParquet({ compression: "gzip" }));
      if (part % filesPerBatch === filesPerBatch - 1) {
        await storage.put(joinUri(folder, `${rdsTableFolder(spec.target)}${batch}/_SUCCESS`), "");
      }
    }
    const all = pl.concat(frames);
    tables.set(spec.target, all);
    perTableStatus.push({
      target: spec.target,
      status,
      sizeGB: 0,
      tableStatistics: { extractionStatus: "COMPLETE" },
      schemaMetadata: {
        originalTypeMappings: Object.entries(RDS_SAMPLE_SCHEMA).map(([columnName, type]) => ({
          columnName,
          expectedExportedType: String(type),
        })),
      },
    });
  }
  const time = new Date(Date.UTC(2024, 4, 1, 12)).toISOString();
  await storage.put(
    joinUri(folder, `export_tables_info_${options.exportId}_from_1_to_${perTableStatus.length}.json`),
    JSON.stringify({ perTableStatus }),
  );
  // The info file last: it says the export is COMPLETE.
  await storage.put(
    joinUri(folder, `export_info_${options.exportId}.json`),
    JSON.stringify({
      exportTaskIdentifier: options.exportId,
      sourceArn: "arn:aws:rds:us-east-1:123456789012:snapshot:rds:shop-2024-05-01-12-00",
      exportOnly: [],
      snapshotTime: time,
      taskStartTime: time,
      taskEndTime: time,
      s3Bucket: "my-exports",
      s3Prefix: "",
      exportedFilesPath: options.exportId,
      status: "COMPLETE",
      percentProgress: 100,
      totalExportedDataInGB: 0,
    }),
  );
  return { folder, tables };
}
