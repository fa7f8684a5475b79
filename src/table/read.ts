/**
 * Reading a lake back, for people looking into it (`snaplake preview`, `snaplake query`): its data files
 * with their partition values, through the storage layer (local folders and S3 alike), as polars frames.
 * A hive lake is every Parquet file under its root; a Delta table is the active files of its latest version,
 * from the log, an Iceberg table those of its current snapshot (files step 2.3 wrote but step 4 has not
 * committed are not the table's yet).
 * Partition columns come from the folder names (Hive: strings, as polars and Spark read them without a
 * schema), the log's partitionValues (Delta) or the manifests' partition tuples (Iceberg), both typed as
 * the table's schema says; a null partition (`__HIVE_DEFAULT_PARTITION__`, a JSON null) is null.
 */
import pl from "nodejs-polars";
import { ConfigError } from "../errors.js";
import { decodeHivePath, type PartitionValues } from "../models/hive.js";
import type { Storage } from "../storage/types.js";
import { asFolder, normalizeUri, relativeKey } from "../storage/uri.js";
import type { DeltaStructType } from "./delta/schema.js";
import { openDeltaTable } from "./delta/table.js";
import { fileSystemCatalogForReading, type IcebergCatalog } from "./iceberg/catalog.js";
import { deltaPrimitiveOf, type IcebergSchema } from "./iceberg/schema.js";
import { openIcebergTable } from "./iceberg/table.js";
import type { LakeFormat } from "./types.js";

export interface LakeDataFile {
  uri: string;
  partition: PartitionValues;
  /** Delta partition columns' types (absent: strings). */
  partitionTypes?: Readonly<Record<string, string>>;
}

export interface LakeListing {
  format: LakeFormat;
  /** The Delta version or Iceberg sequence number read, null for a hive lake. */
  version: number | null;
  files: LakeDataFile[];
}

/** Hidden and Hadoop/Delta bookkeeping paths (`_delta_log/`, `.tmp`, `_SUCCESS`) hold no lake rows. */
function isLakeDataFile(key: string): boolean {
  return (
    key.endsWith(".parquet") && key.split("/").every((part) => !part.startsWith("_") && !part.startsWith("."))
  );
}

/** `catalog`: an Iceberg table's catalog (default: the filesystem catalog at `lakeUri`). */
export async function listLakeFiles(
  storage: Storage,
  lakeUri: string,
  format: LakeFormat,
  catalog?: IcebergCatalog,
): Promise<LakeListing> {
  if (format === "iceberg") {
    const table = await openIcebergTable(storage, catalog ?? fileSystemCatalogForReading(storage, lakeUri));
    const partitionTypes = icebergPartitionTypes(table.schema);
    const text = (column: string, value: unknown) => icebergPartitionText(value, partitionTypes[column]);
    return {
      format,
      version: table.sequenceNumber,
      files: table.files.map((file) => ({
        uri: file.uri,
        partition: Object.fromEntries(table.partitionColumns.map((c) => [c, text(c, file.partition[c])])),
        partitionTypes,
      })),
    };
  }
  if (format === "delta") {
    const table = await openDeltaTable(storage, lakeUri);
    const partitionTypes = primitiveTypes(table.schema);
    return {
      format,
      version: table.version,
      files: table.files.map((file) => ({ uri: file.uri, partition: file.partitionValues, partitionTypes })),
    };
  }
  const folder = asFolder(normalizeUri(lakeUri));
  const files: LakeDataFile[] = [];
  for await (const object of storage.list(folder)) {
    const key = relativeKey(folder, object.uri);
    if (isLakeDataFile(key)) files.push({ uri: object.uri, partition: decodeHivePath(key) });
  }
  files.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  return { format, version: null, files };
}

/**
 * Parses `k=v` filters (`--partition year=2024`); `k=` or `k=__HIVE_DEFAULT_PARTITION__` is the null
 * partition. A key that is not a partition column is refused, naming the columns there are.
 */
export function parsePartitionFilters(
  filters: readonly string[],
  partitionKeys: readonly string[],
): PartitionValues {
  const wanted: PartitionValues = {};
  for (const filter of filters) {
    const eq = filter.indexOf("=");
    const key = eq > 0 ? filter.slice(0, eq) : "";
    if (!key || !partitionKeys.includes(key))
      throw new ConfigError("--partition", [
        `"${filter}" is not k=v with k one of the partition keys (${partitionKeys.join(", ") || "none"})`,
      ]);
    const value = filter.slice(eq + 1);
    wanted[key] = value === "" ? null : (decodeHivePath(`${key}=${value}`)[key] ?? null);
  }
  return wanted;
}

export function inPartition(file: LakeDataFile, wanted: PartitionValues): boolean {
  return Object.entries(wanted).every(([key, value]) => (file.partition[key] ?? null) === value);
}

function primitiveTypes(schema: DeltaStructType): Record<string, string> {
  return Object.fromEntries(
    schema.fields.flatMap((field) => (typeof field.type === "string" ? [[field.name, field.type]] : [])),
  );
}

/** An Iceberg table's primitive columns by the Delta type names partitionLiteral reads. */
function icebergPartitionTypes(schema: IcebergSchema): Record<string, string> {
  return Object.fromEntries(
    schema.fields.flatMap((field) => {
      const type = typeof field.type === "string" ? deltaPrimitiveOf(field.type) : null;
      return type ? [[field.name, type]] : [];
    }),
  );
}

/**
 * A manifest's partition value as the text partitionLiteral reads (Delta's serialisation): dates from
 * days, timestamps from microseconds (UTC, with Z when the type has a zone).
 */
function icebergPartitionText(value: unknown, type: string | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (type === "date") return new Date(Number(value) * 86_400_000).toISOString().slice(0, 10);
  if (type === "timestamp" || type === "timestamp_ntz") {
    const micros = Number(value);
    const seconds = Math.floor(micros / 1_000_000);
    const fraction = String(micros - seconds * 1_000_000).padStart(6, "0");
    const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
    return `${whole}.${fraction}${type === "timestamp" ? "Z" : ""}`;
  }
  return String(value);
}

/**
 * A partition value as a typed literal, from its serialised text (Delta's "Partition Value Serialization");
 * decimals stay text (nodejs-polars has no decimal literal). Dates and timestamps go through epoch numbers:
 * nodejs-polars' strptime only targets millisecond datetimes.
 */
function partitionLiteral(value: string | null, type: string | undefined): pl.Expr {
  const dtype = (type !== undefined && POLARS_TYPES[type]) || pl.String;
  if (value === null) return pl.lit(null).cast(dtype);
  switch (type) {
    case "boolean":
      return pl.lit(value === "true");
    case "date":
      return pl
        .lit(Date.parse(`${value}T00:00:00Z`) / 86_400_000)
        .cast(pl.Int32)
        .cast(dtype);
    case "timestamp":
    case "timestamp_ntz": {
      // `2024-01-02T03:04:05.123456Z` (UTC) or `2024-01-02 03:04:05.123456` (wall time, read as if UTC)
      const [whole = "", fraction = ""] = value.replace(/Z$/, "").split(".");
      const micros =
        Date.parse(`${whole.replace(" ", "T")}Z`) * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
      return pl.lit(micros).cast(pl.Int64).cast(dtype);
    }
    default:
      return pl.lit(value).cast(pl.String).cast(dtype);
  }
}

const POLARS_TYPES: Record<string, pl.DataType> = {
  long: pl.Int64,
  integer: pl.Int32,
  short: pl.Int16,
  byte: pl.Int8,
  double: pl.Float64,
  float: pl.Float32,
  boolean: pl.Bool,
  date: pl.Date,
  timestamp: pl.Datetime("us", "UTC"),
  timestamp_ntz: pl.Datetime("us"),
};

/** One lake file as a frame, with its partition values as columns (unless the file holds them). */
export async function readLakeFile(storage: Storage, file: LakeDataFile): Promise<pl.DataFrame> {
  const frame = pl.readParquet(await storage.get(file.uri));
  const missing = Object.entries(file.partition).filter(([key]) => !frame.columns.includes(key));
  if (missing.length === 0) return frame;
  return frame.withColumns(
    ...missing.map(([key, value]) => partitionLiteral(value, file.partitionTypes?.[key]).alias(key)),
  );
}

/**
 * The lake files' rows as one frame, files read in order until `limit` rows (every row without a limit).
 * Files whose columns differ (a column added in a later run) are aligned by name, missing columns null.
 */
export async function readLakeFrame(
  storage: Storage,
  files: readonly LakeDataFile[],
  options: { limit?: number } = {},
): Promise<pl.DataFrame> {
  const frames: pl.DataFrame[] = [];
  let rows = 0;
  for (const file of files) {
    if (options.limit !== undefined && rows >= options.limit) break;
    const frame = await readLakeFile(storage, file);
    frames.push(frame);
    rows += frame.height;
  }
  if (frames.length === 0) return pl.DataFrame({});
  const all = frames.length === 1 ? frames[0]! : pl.concat(frames, { how: "diagonalRelaxed" });
  return options.limit === undefined ? all : all.head(options.limit);
}
