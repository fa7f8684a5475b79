/**
 * Projects described entirely by a config file, for the CLI and Lambda: the reader is a registered format
 * (Parquet, CSV, NDJSON, DynamoDB export, Snowplow enriched TSV, or one a program registered) and derived columns are declared as data. Code users can
 * subclass `Project` instead and read anything.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { type ParseConfigOptions, parseProjectConfig } from "./config.js";
import { ConfigError, formatZodIssues } from "./errors.js";
import type { SnapshotFileGroup } from "./models/manifests.js";
import { Project, type ProjectDependencies } from "./project.js";
import { findReaderFormat, type ReaderFormat, readerFormatNames } from "./readers/registry.js";
import type { BatchReadSnapshotDataFile, DerivedColumn, ReadContext } from "./readers/types.js";
import type { Runtime } from "./runtime.js";

/** `reader` in a config file: a format of the registry and that format's options. */
export const readerSpecSchema = z.looseObject({ format: z.string() }).transform((spec, ctx) => {
  const { format, ...options } = spec;
  const entry = findReaderFormat(format);
  if (!entry) {
    ctx.addIssue({
      code: "custom",
      path: ["format"],
      message: `no reader format "${format}": use one of ${readerFormatNames().join(", ")} (a program adds its own with registerReaderFormat)`,
    });
    return z.NEVER;
  }
  const parsed = entry.options.safeParse(options);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return { format, ...parsed.data } as { format: string } & Record<string, unknown>;
});
export type ReaderSpec = z.output<typeof readerSpecSchema>;

/** `{ name: "year", from: "order_time", format: "%Y" }`: strftime of a temporal column, or a string copy. */
export const derivedColumnSpecSchema = z
  .object({
    name: z.string().min(1).describe("The new column's name (it may be a partition key)."),
    from: z.string().min(1).describe("The column it is computed from."),
    format: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A strftime format ("%Y", "%Y-%m-%d") applied to a date or datetime column; without it, a string copy.',
      ),
  })
  .strict()
  .describe("A column computed after reading: strftime of a time column, or a string copy of a column.");
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

/** A parsed spec's format; gone only if a program removed it since the parse. */
function registeredFormat(name: string): ReaderFormat {
  const entry = findReaderFormat(name);
  if (!entry)
    throw new ConfigError(`reader.format "${name}"`, [
      `the format is no longer registered: use one of ${readerFormatNames().join(", ")}`,
    ]);
  return entry;
}

/** Parses a whole config file's object: the project config plus `reader` and `derivedColumns`. */
export function parseConfiguredProject(
  input: unknown,
  source = "config",
  options: ParseConfigOptions = {},
): ConfiguredProjectDefinition {
  const file = fileConfigSchema.safeParse(input);
  if (!file.success) throw new ConfigError(source, formatZodIssues(file.error.issues));
  // "$schema" points editors at snaplake.schema.json; it is no setting.
  const { reader, derivedColumns, $schema: _schema, ...rest } = file.data;
  const entry = registeredFormat(reader.format);
  const withDefaults = entry.withConfigDefaults ? entry.withConfigDefaults(rest) : rest;
  return { config: parseProjectConfig(withDefaults, source, options), reader, derivedColumns };
}

/** A Project reading its groups with a registered format's reader, with declared derived columns. */
export class FileFormatProject extends Project {
  constructor(
    definition: ConfiguredProjectDefinition,
    dependencies: ProjectDependencies,
    read: BatchReadSnapshotDataFile,
  ) {
    super(definition.config, dependencies);
    this.reader = definition.reader;
    this.read = read;
    this.derived = definition.derivedColumns;
  }
  private readonly reader: ReaderSpec;
  private readonly read: BatchReadSnapshotDataFile;
  private readonly derived: DerivedColumnSpec[];

  protected override readerSettings() {
    return { reader: this.reader, derivedColumns: this.derived };
  }

  override derivedColumns(): DerivedColumn[] {
    return this.derived.map((d) => ({
      name: d.name,
      expr: d.format ? pl.col(d.from).dt.strftime(d.format) : pl.col(d.from).cast(pl.Utf8),
      // As the config file declares it: polars' text of a strftime leaves the format out.
      declaration: `derivedColumns: ${JSON.stringify(d)}`,
    }));
  }

  override batchReadSnapshotDataFile(group: SnapshotFileGroup, context: ReadContext) {
    return this.read(group, context);
  }
}

/** The right Project for a config file: the format's ready project, or a file-format one with its reader. */
export function createConfiguredProject(definition: ConfiguredProjectDefinition, runtime: Runtime): Project {
  const { format, ...options } = definition.reader;
  const entry = registeredFormat(format);
  if ("project" in entry) return entry.project(definition.config, runtime, options, runtime);
  return new FileFormatProject(definition, runtime, entry.reader(options));
}
