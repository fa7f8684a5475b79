/**
 * The plain file formats (Parquet, CSV, NDJSON) and `auto`, which picks one of them per file by its
 * extension, so one snapshot folder may mix `.csv`, `.csv.gz`, `.parquet` and `.ndjson` files. gzip content
 * is already inflated by the read context; `.gz` only hides the real extension.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { dtypeOfTypeName } from "../frames/column-types.js";
import type { BatchReadSnapshotDataFile } from "./types.js";

/** True when the bytes hold nothing but whitespace (stops at the first other byte). */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return true;
}

export type Decode = (bytes: Buffer, uri: string) => pl.DataFrame;

/**
 * A reader decoding each file of the group on its own. An empty file (DynamoDB exports write them for empty
 * partitions) has no rows and no schema; polars refuses to infer one from nothing.
 */
export const eachFile =
  (decode: Decode): BatchReadSnapshotDataFile =>
  (_group, context) =>
    context.readEach((bytes, uri) => (isBlank(bytes) ? pl.DataFrame() : decode(bytes, uri)));

/** A column type as the lake schema names it ("Int64", "String", "Date", "Datetime(us)"...). */
const typeName = z.string().refine((name) => dtypeOfTypeName(name) !== undefined, {
  message: 'not a column type: use e.g. "Int64", "Float64", "String", "Boolean", "Date", "Datetime(us)"',
});

export const csvOptionsSchema = z
  .object({
    separator: z
      .string()
      .length(1)
      .default(",")
      .describe("The field separator, one character (.tsv files: a tab)."),
    hasHeader: z.boolean().default(true).describe("The first line names the columns."),
    schema: z
      .record(z.string(), typeName)
      .optional()
      .describe(
        'Column types by name, as the lake schema spells them ({ "amount": "Float64", "day": "Date", "at": "Datetime(us)" }), for the columns whose inferred type is not the wanted one; the others are inferred.',
      ),
    // Unset rather than defaulting to false, so older projects' recorded settings still match.
    tryParseDates: z
      .boolean()
      .optional()
      .describe("Let polars recognise ISO dates and datetimes in text columns (default false)."),
    dateFormat: z
      .string()
      .min(1)
      .optional()
      .describe(
        'strftime format of the text in the columns schema declares Date or Datetime, e.g. "%d/%m/%Y".',
      ),
  })
  .strict();
export type CsvOptions = z.output<typeof csvOptionsSchema>;

const isTemporal = (dtype: pl.DataType) => dtype.variant === "Date" || dtype.variant === "Datetime";

export function decodeCsv(options: CsvOptions): Decode {
  const declared = Object.entries(options.schema ?? {}).map(
    ([column, name]) => [column, dtypeOfTypeName(name) as pl.DataType] as const,
  );
  // With a date format, declared dates are read as text and parsed with it (polars' CSV parser takes none).
  const parsed = options.dateFormat ? declared.filter(([, dtype]) => isTemporal(dtype)) : [];
  const dtypes = Object.fromEntries(
    declared.map(([column, dtype]) => [column, parsed.some(([c]) => c === column) ? pl.Utf8 : dtype]),
  );
  return (bytes) => {
    const frame = pl.readCSV(bytes, {
      sep: options.separator,
      hasHeader: options.hasHeader,
      tryParseDates: options.tryParseDates ?? false,
      ...(declared.length > 0 ? { dtypes } : {}),
    });
    if (parsed.length === 0) return frame;
    return frame.withColumns(
      ...parsed.map(([column, dtype]) =>
        // strptime parses to Date or Datetime("ms") only; a finer unit is a cast away.
        (dtype.variant === "Date"
          ? pl.col(column).str.strptime(pl.Date, options.dateFormat)
          : pl.col(column).str.strptime(pl.Datetime("ms"), options.dateFormat).cast(dtype)
        ).alias(column),
      ),
    );
  };
}

export const decodeParquet: Decode = (bytes) => pl.readParquet(bytes);
export const decodeNdjson: Decode = (bytes) => pl.readJSON(bytes, { format: "lines" });

/** `auto`'s extensions (after any `.gz`/`.gzip`), by the format that reads them. */
const EXTENSIONS = {
  parquet: ["parquet", "pq"],
  csv: ["csv", "tsv", "txt"],
  ndjson: ["ndjson", "jsonl", "json"],
} as const;

/** A file's extension, looking through a compression suffix: `a.csv.gz` is "csv". */
export function dataExtension(uri: string): string {
  const name = (uri.split("/").at(-1) ?? "").toLowerCase().replace(/\.(gz|gzip)$/, "");
  const dot = name.lastIndexOf(".");
  return dot === -1 ? "" : name.slice(dot + 1);
}

/** `auto` takes the CSV options (for its CSV files); a `.tsv` file is tab-separated whatever `separator` says. */
export function decodeAuto(options: CsvOptions): Decode {
  const csv = decodeCsv(options);
  const tsv = decodeCsv({ ...options, separator: "\t" });
  return (bytes, uri) => {
    const extension = dataExtension(uri);
    if ((EXTENSIONS.parquet as readonly string[]).includes(extension)) return decodeParquet(bytes, uri);
    if ((EXTENSIONS.ndjson as readonly string[]).includes(extension)) return decodeNdjson(bytes, uri);
    if (extension === "tsv") return tsv(bytes, uri);
    if ((EXTENSIONS.csv as readonly string[]).includes(extension)) return csv(bytes, uri);
    const known = Object.values(EXTENSIONS)
      .flat()
      .map((e) => `.${e}`)
      .join(", ");
    throw new ConfigError(`reader.format "auto"`, [
      `no reader for ${uri} (extension "${extension || "none"}"): auto reads ${known} (each optionally .gz); ` +
        "set reader.format to the files' format, or exclude the file from the snapshot",
    ]);
  };
}
