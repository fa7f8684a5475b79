/**
 * Projects described entirely by a config file, for the CLI and Lambda: the reader is a built-in format
 * (Parquet, CSV, NDJSON, Snowplow enriched TSV) and derived columns are declared as data. Code users can
 * subclass `Project` instead and read anything.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { parseProjectConfig } from "./config.js";
import { ConfigError, formatZodIssues } from "./errors.js";
import type { SnapshotFileGroup } from "./models/manifests.js";
import { Project, type ProjectDependencies } from "./project.js";
import type { Runtime } from "./runtime.js";
import { EventManifest } from "./snowplow/event-manifest.js";
import { SNOWPLOW_DEFAULTS, SnowplowEnrichedProject } from "./snowplow/project.js";
import type { DerivedColumn, ReadContext } from "./steps/step-1-3-process-snapshot-group.js";

export const readerSpecSchema = z.discriminatedUnion("format", [
  z.object({ format: z.literal("parquet") }).strict(),
  z
    .object({
      format: z.literal("csv"),
      separator: z.string().length(1).default(","),
      hasHeader: z.boolean().default(true),
    })
    .strict(),
  z.object({ format: z.literal("ndjson") }).strict(),
  z
    .object({
      format: z.literal("snowplow-enriched"),
      shred: z.boolean().default(false),
      dedupe: z.boolean().default(true),
      /** Cross-batch de-duplication against this Snowplow event manifest table (see `snaplake populate-event-manifest`). */
      eventManifestTable: z.string().min(3).optional(),
    })
    .strict(),
]);
export type ReaderSpec = z.infer<typeof readerSpecSchema>;

/** `{ name: "year", from: "order_time", format: "%Y" }`: strftime of a temporal column, or a string copy. */
export const derivedColumnSpecSchema = z
  .object({ name: z.string().min(1), from: z.string().min(1), format: z.string().min(1).optional() })
  .strict();
export type DerivedColumnSpec = z.infer<typeof derivedColumnSpecSchema>;

const fileConfigSchema = z.looseObject({
  reader: readerSpecSchema.default({ format: "parquet" }),
  derivedColumns: z.array(derivedColumnSpecSchema).default([]),
});

export interface ConfiguredProjectDefinition {
  config: ReturnType<typeof parseProjectConfig>;
  reader: ReaderSpec;
  derivedColumns: DerivedColumnSpec[];
}

/** Parses a whole config file's object: the project config plus `reader` and `derivedColumns`. */
export function parseConfiguredProject(input: unknown, source = "config"): ConfiguredProjectDefinition {
  const file = fileConfigSchema.safeParse(input);
  if (!file.success) throw new ConfigError(source, formatZodIssues(file.error.issues));
  const { reader, derivedColumns, ...rest } = file.data;
  const withDefaults = reader.format === "snowplow-enriched" ? { ...SNOWPLOW_DEFAULTS, ...rest } : rest;
  return { config: parseProjectConfig(withDefaults, source), reader, derivedColumns };
}

/** True when the bytes hold nothing but whitespace (stops at the first other byte). */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return true;
}

/** A Project reading Parquet, CSV or NDJSON files, with declared derived columns. */
export class FileFormatProject extends Project {
  constructor(definition: ConfiguredProjectDefinition, dependencies: ProjectDependencies) {
    super(definition.config, dependencies);
    this.reader = definition.reader;
    this.derived = definition.derivedColumns;
  }
  private readonly reader: ReaderSpec;
  private readonly derived: DerivedColumnSpec[];

  protected override readerSettings() {
    return { reader: this.reader, derivedColumns: this.derived };
  }

  override derivedColumns(): DerivedColumn[] {
    return this.derived.map((d) => ({
      name: d.name,
      expr: d.format ? pl.col(d.from).dt.strftime(d.format) : pl.col(d.from).cast(pl.Utf8),
    }));
  }

  override batchReadSnapshotDataFile(_group: SnapshotFileGroup, context: ReadContext) {
    const reader = this.reader;
    return context.readEach((bytes) => {
      // An empty export file (DynamoDB exports write them for empty partitions) has no rows and no schema;
      // polars refuses to infer one from nothing.
      if (isBlank(bytes)) return pl.DataFrame();
      switch (reader.format) {
        case "parquet":
          return pl.readParquet(bytes);
        case "csv":
          return pl.readCSV(bytes, { sep: reader.separator, hasHeader: reader.hasHeader });
        case "ndjson":
          return pl.readJSON(bytes, { format: "lines" });
        default:
          throw new Error(`reader ${reader.format} is not a plain file format`);
      }
    });
  }
}

/**
 * The right Project for a config file: Snowplow's ready project, or a file-format one. The event manifest,
 * when configured, uses the runtime's DynamoDB client, so closing the runtime closes it.
 */
export function createConfiguredProject(definition: ConfiguredProjectDefinition, runtime: Runtime): Project {
  const { reader } = definition;
  if (reader.format === "snowplow-enriched") {
    const eventManifest = reader.eventManifestTable
      ? new EventManifest(runtime.dynamodb(), reader.eventManifestTable)
      : undefined;
    return new SnowplowEnrichedProject(definition.config, runtime, {
      shred: reader.shred,
      dedupe: reader.dedupe,
      ...(eventManifest ? { eventManifest } : {}),
    });
  }
  return new FileFormatProject(definition, runtime);
}
