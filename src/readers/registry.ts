/**
 * The reader formats a config file may name in `reader.format`: the built-in ones, each defined in its own
 * file, and any a program adds with `registerReaderFormat`, which then reads like a built-in one (a config's
 * `reader` is checked against the registry when it is parsed). `configured-project.ts` only assembles.
 */
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { autoFormat } from "./auto.js";
import { csvFormat } from "./csv.js";
import { dynamoDbExportFormat } from "./dynamodb-export.js";
import type { ReaderFormat } from "./format.js";
import { ndjsonFormat } from "./ndjson.js";
import { parquetFormat } from "./parquet.js";
import { snowplowEnrichedFormat } from "./snowplow-enriched.js";

export type { ReaderFormat } from "./format.js";

/** The formats every config file may name (`snaplake.schema.json` lists these). */
export const BUILT_IN_READER_FORMATS = {
  parquet: parquetFormat,
  csv: csvFormat,
  ndjson: ndjsonFormat,
  auto: autoFormat,
  "dynamodb-export": dynamoDbExportFormat,
  "snowplow-enriched": snowplowEnrichedFormat,
} as const satisfies Record<string, ReaderFormat>;

const formats = new Map<string, ReaderFormat>(Object.entries(BUILT_IN_READER_FORMATS));

/**
 * Adds a reader format under `name`, for config files parsed after it (in this process). Returns what
 * removes it again.
 * @throws {ConfigError} when a format of that name exists (a built-in one can't be replaced).
 */
export function registerReaderFormat<Options extends z.ZodObject>(
  name: string,
  entry: ReaderFormat<Options>,
): () => void {
  if (name === "" || formats.has(name))
    throw new ConfigError(`registerReaderFormat("${name}")`, [
      `${name ? `a reader format named "${name}" exists already` : "a format needs a name"}: choose one other than ${readerFormatNames().join(", ")}`,
    ]);
  const registered = entry as unknown as ReaderFormat;
  formats.set(name, registered);
  return () => {
    if (formats.get(name) === registered) formats.delete(name);
  };
}

/** The format registered under `name`, if any. */
export const findReaderFormat = (name: string): ReaderFormat | undefined => formats.get(name);

/** Every format's name, built-in ones first. */
export const readerFormatNames = (): string[] => [...formats.keys()];
