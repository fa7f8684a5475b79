/**
 * `reader.format: "csv"`: CSV files with any one-character separator, a header or none, declared column
 * types and a date format for the text of date columns.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { dtypeOfTypeName } from "../frames/column-types.js";
import { type Decode, eachFile } from "./each-file.js";
import { readerFormat } from "./format.js";

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

export const csvFormat = readerFormat({
  description: "CSV files (any separator), plain or gzip.",
  options: csvOptionsSchema,
  reader: (options) => eachFile(decodeCsv(options)),
});
