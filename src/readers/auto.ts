/**
 * `reader.format: "auto"`: picks Parquet, CSV or NDJSON per file by its extension, so one snapshot folder may
 * mix `.csv`, `.csv.gz`, `.parquet` and `.ndjson` files (`.gz` only hides the real extension).
 */
import { ConfigError } from "../errors.js";
import { type CsvOptions, csvOptionsSchema, decodeCsv } from "./csv.js";
import { type Decode, eachFile } from "./each-file.js";
import { readerFormat } from "./format.js";
import { decodeNdjson } from "./ndjson.js";
import { decodeParquet } from "./parquet.js";

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

export const autoFormat = readerFormat({
  description:
    "Per file by its extension: .parquet, .csv, .tsv, .ndjson or .jsonl, each maybe .gz (the CSV options apply to CSV files).",
  options: csvOptionsSchema,
  reader: (options) => eachFile(decodeAuto(options)),
});
