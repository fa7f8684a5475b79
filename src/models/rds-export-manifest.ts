/**
 * One table of an RDS or Aurora snapshot export to S3: its status from the export's own info files, and its
 * Parquet files from its folder.
 *
 * Layout, from AWS's "File naming conventions for exports to Amazon S3"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ExportSnapshot.FileNames.html):
 *
 * ```
 * <prefix>/<export-identifier>/export_info_<export-identifier>.json
 * <prefix>/<export-identifier>/export_tables_info_<export-identifier>_from_<n>_to_<m>.json
 * <prefix>/<export-identifier>/<database>/<schema>.<table>/<batch_index>/part-<partition_index>-<uuid>.gz.parquet
 * ```
 *
 * (`<database>/<database>.<table>/` for MySQL and MariaDB, which have no schemas.) `export_info_*.json` holds
 * the task's `exportTaskIdentifier`, `status` and `percentProgress`, as DescribeExportTasks reports them
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ExportTask.html); each
 * `export_tables_info_*.json` holds `perTableStatus`, one entry per table with its `target`
 * (`database.schema.table`) and `status`, and optionally `sizeGB`, `warningMessage`, `tableStatistics` and
 * `schemaMetadata`. Only a table whose status is COMPLETE is read.
 */
import { z } from "zod";
import { type ErrorCode, formatZodIssues, SnaplakeError } from "../errors.js";
import type { Storage } from "../storage/types.js";
import { asFolder, baseName, joinUri, normalizeUri, relativeKey } from "../storage/uri.js";
import type { DataFile } from "./manifests.js";

/** The export or the table can't be read: missing info files, an export or table not COMPLETE, no such table. */
export class RdsExportError extends SnaplakeError {
  readonly uri: string;
  constructor(code: ErrorCode, uri: string, message: string) {
    super(code, message);
    this.uri = uri;
  }
}

/** `export_info_*.json` or `export_tables_info_*.json` is missing or not what AWS writes. */
export class RdsExportInfoError extends RdsExportError {
  constructor(uri: string, problem: string) {
    super("RDS_EXPORT_INFO_INVALID", uri, `RDS export ${uri}: ${problem}`);
  }
}

export class RdsExportNotCompleteError extends RdsExportError {
  constructor(uri: string, status: string, percent: number | null | undefined) {
    super(
      "RDS_EXPORT_NOT_COMPLETE",
      uri,
      `RDS export ${uri} is ${status}${percent == null ? "" : ` (${percent}%)`}, not COMPLETE: wait until \`aws rds describe-export-tasks\` reports it COMPLETE`,
    );
  }
}

export class RdsExportTableNotFoundError extends RdsExportError {
  constructor(uri: string, table: string, known: readonly string[]) {
    super(
      "RDS_EXPORT_TABLE_NOT_FOUND",
      uri,
      `RDS export ${uri} has no table ${table}; it has ${known.slice(0, 10).join(", ") || "none"}${known.length > 10 ? `, and ${known.length - 10} more` : ""}. Fix snapshot.table`,
    );
  }
}

export class RdsExportTableNotReadyError extends RdsExportError {
  readonly table: string;
  readonly status: string;
  constructor(uri: string, table: string, status: string, warning?: string | null) {
    super(
      "RDS_EXPORT_TABLE_NOT_COMPLETE",
      uri,
      `RDS export ${uri}: table ${table} is ${status}, not COMPLETE${warning ? ` (${warning})` : ""}; export the snapshot again, or choose another snapshot.table`,
    );
    this.table = table;
    this.status = status;
  }
}

const exportInfoSchema = z.looseObject({
  exportTaskIdentifier: z.string().min(1),
  status: z.string().min(1),
  percentProgress: z.number().nullish(),
  sourceArn: z.string().nullish(),
  snapshotTime: z.string().nullish(),
});

const tableStatusSchema = z.looseObject({
  target: z.string().min(1),
  status: z.string().min(1),
  warningMessage: z.string().nullish(),
  sizeGB: z.number().nullish(),
});

const tablesInfoSchema = z.looseObject({ perTableStatus: z.array(tableStatusSchema) });

export interface RdsExportTable {
  folder: string;
  exportTaskIdentifier: string;
  /** `database.schema.table` (or `database.table`), as the export names it. */
  table: string;
  /** The table's folder, `<database>/<schema>.<table>/`. */
  tableFolder: string;
  files: DataFile[];
  details: Record<string, unknown>;
}

async function readInfo<T>(storage: Storage, uri: string, schema: z.ZodType<T>): Promise<T> {
  const text = (await storage.get(uri)).toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RdsExportInfoError(uri, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new RdsExportInfoError(uri, formatZodIssues(parsed.error.issues).join("; "));
  }
  return parsed.data;
}

/** The folder of a table target: `db.schema.table` → `db/schema.table/`, `db.table` → `db/db.table/`. */
export function rdsTableFolder(table: string): string {
  const parts = table.split(".");
  const database = parts[0]!;
  return parts.length === 3 ? `${database}/${parts[1]}.${parts[2]}/` : `${database}/${table}/`;
}

/**
 * Reads an export's info files and the Parquet files of `table`. Refuses an export whose task is not
 * COMPLETE, a table the export doesn't list, and a table whose own status is not COMPLETE (FAILED, SKIPPED...).
 */
export async function readRdsExportTable(
  storage: Storage,
  exportFolderUri: string,
  table: string,
): Promise<RdsExportTable> {
  const folder = asFolder(normalizeUri(exportFolderUri));
  const infoUris: string[] = [];
  const tablesInfoUris: string[] = [];
  for await (const object of storage.listSummaries(folder)) {
    const key = relativeKey(folder, object.uri);
    if (key.includes("/")) continue;
    if (/^export_info_.*\.json$/.test(key)) infoUris.push(object.uri);
    else if (/^export_tables_info_.*\.json$/.test(key)) tablesInfoUris.push(object.uri);
  }
  if (infoUris.length !== 1) {
    throw new RdsExportInfoError(
      folder,
      `expected one export_info_*.json, found ${infoUris.length === 0 ? "none" : infoUris.map(baseName).join(", ")}; point snapshot.rdsExport at the export's own folder, s3://bucket/prefix/<export-identifier>/`,
    );
  }
  const info = await readInfo(storage, infoUris[0]!, exportInfoSchema);
  if (info.status !== "COMPLETE") {
    throw new RdsExportNotCompleteError(folder, info.status, info.percentProgress);
  }
  if (tablesInfoUris.length === 0) {
    throw new RdsExportInfoError(folder, "no export_tables_info_*.json");
  }
  const statuses: Array<z.infer<typeof tableStatusSchema>> = [];
  for (const uri of tablesInfoUris.sort())
    statuses.push(...(await readInfo(storage, uri, tablesInfoSchema)).perTableStatus);
  const status = statuses.find((entry) => entry.target === table);
  if (!status) {
    throw new RdsExportTableNotFoundError(
      folder,
      table,
      statuses.map((entry) => entry.target),
    );
  }
  if (status.status !== "COMPLETE")
    throw new RdsExportTableNotReadyError(folder, table, status.status, status.warningMessage);

  const tableFolder = joinUri(folder, rdsTableFolder(table));
  const files: DataFile[] = [];
  for await (const object of storage.list(tableFolder)) {
    if (!object.uri.endsWith(".parquet") || object.size === 0) continue;
    files.push({ uri: object.uri, etag: object.etag, size: object.size, nRecord: null });
  }
  return {
    folder,
    exportTaskIdentifier: info.exportTaskIdentifier,
    table,
    tableFolder,
    files,
    details: {
      exportTaskIdentifier: info.exportTaskIdentifier,
      sourceArn: info.sourceArn ?? null,
      snapshotTime: info.snapshotTime ?? null,
      table,
      sizeGB: status.sizeGB ?? null,
    },
  };
}
