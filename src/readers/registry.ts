/**
 * The built-in reader formats a config file names in `reader.format`: each one's options (the `reader`
 * object's other fields, parsed with zod) and what reads a snapshot file group. Adding a format is one entry
 * here and its own file; `configured-project.ts` only assembles.
 */
import { z } from "zod";
import type { ProjectConfigInput } from "../config.js";
import type { Project, ProjectDependencies } from "../project.js";
import type { Runtime } from "../runtime.js";
import { EventManifest } from "../snowplow/event-manifest.js";
import { SnowplowEnrichedProject, withSnowplowDefaults } from "../snowplow/project.js";
import { dynamoDbExportReader, dynamoDbExportReaderOptionsSchema } from "./dynamodb-export.js";
import { csvOptionsSchema, decodeAuto, decodeCsv, decodeNdjson, decodeParquet, eachFile } from "./files.js";
import type { BatchReadSnapshotDataFile } from "./types.js";

/** A format reads either with a reader function (in a plain configured project) or with a ready project. */
export type ReaderFormat<Options extends z.ZodObject = z.ZodObject> = {
  /** The `reader` object's fields besides `format`. */
  options: Options;
  /** Puts the config defaults the format brings under the file's own values. */
  withConfigDefaults?: <C extends Partial<ProjectConfigInput>>(config: C) => C;
} & (
  | { reader(options: z.output<Options>): BatchReadSnapshotDataFile }
  | {
      project(
        config: ProjectConfigInput,
        dependencies: ProjectDependencies,
        options: z.output<Options>,
        runtime: Runtime,
      ): Project;
    }
);

const format = <Options extends z.ZodObject>(entry: ReaderFormat<Options>) => entry;

/** Every built-in format, by its `reader.format` name. */
export const READER_FORMATS = {
  parquet: format({
    options: z.object({}).strict(),
    reader: () => eachFile(decodeParquet),
  }),
  csv: format({ options: csvOptionsSchema, reader: (options) => eachFile(decodeCsv(options)) }),
  ndjson: format({
    options: z.object({}).strict(),
    reader: () => eachFile(decodeNdjson),
  }),
  /** Per file by its extension: .parquet, .csv (the CSV options apply), .tsv, .ndjson/.jsonl, each maybe .gz. */
  auto: format({ options: csvOptionsSchema, reader: (options) => eachFile(decodeAuto(options)) }),
  "dynamodb-export": format({
    // Binary columns stop at the reader: nodejs-polars 0.26.1 cannot report a Binary column's type, which
    // steps 1.3 to 3 need, so a project run keeps B values as base64 text.
    options: dynamoDbExportReaderOptionsSchema.extend({
      binary: z
        .literal("base64", {
          error:
            'binary "bytes" is for readDynamoDbExportItems in your own code: nodejs-polars 0.26.1 cannot report a Binary column\'s type, which steps 1.3 to 3 need. Keep "base64" (the default): B values become base64 text',
        })
        .default("base64")
        .describe("Binary values (B, BS) as base64 text, the only choice in a project."),
    }),
    reader: (options) => dynamoDbExportReader(options),
  }),
  "snowplow-enriched": format({
    options: z
      .object({
        shred: z
          .boolean()
          .default(false)
          .describe(
            "Add one JSON column per context and unstruct event schema (contexts_com_acme_checkout_step_2, ...).",
          ),
        dedupe: z
          .boolean()
          .default(true)
          .describe("In-batch natural de-duplication: one event per event_id and event_fingerprint."),
        eventManifestTable: z
          .string()
          .min(3)
          .optional()
          .describe(
            "Cross-batch de-duplication against this Snowplow event manifest table (fill it with `snaplake populate-event-manifest`).",
          ),
      })
      .strict(),
    withConfigDefaults: withSnowplowDefaults,
    // The event manifest uses the runtime's DynamoDB client, so closing the runtime closes it.
    project: (config, dependencies, options, runtime) =>
      new SnowplowEnrichedProject(config, dependencies, {
        shred: options.shred,
        dedupe: options.dedupe,
        ...(options.eventManifestTable
          ? { eventManifest: new EventManifest(runtime.dynamodb(), options.eventManifestTable) }
          : {}),
      }),
  }),
} as const;

export type ReaderFormatName = keyof typeof READER_FORMATS;
export const READER_FORMAT_NAMES = Object.keys(READER_FORMATS) as [ReaderFormatName, ...ReaderFormatName[]];
