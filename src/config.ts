/**
 * The project configuration: one object, parsed with zod at the boundary. Errors name the field.
 * Everything inside snaplake works with the parsed, typed `ProjectConfig`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { isAbsolute, resolve } from "node:path";
import bytes from "bytes";
import { z } from "zod";
import { ConfigError, formatZodIssues } from "./errors.js";
import { asFolder, isS3Uri, normalizeUri } from "./storage/uri.js";

/** A byte size: a number, or a string such as "128MB" or "1.5 GiB" (binary units). */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const parsed = bytes.parse(value.replace(/i?B$/i, "B"));
  if (parsed === null || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size (use bytes or e.g. "128MB")` });
    return z.NEVER;
  }
  return parsed;
});

const identifier = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, '.', '_' and '-' only")
  // It names a folder under stagingUri.
  .refine((value) => value !== "." && value !== "..", "may not be '.' or '..'");

const columnName = z.string().min(1);

const sortKey = z.union([
  columnName.transform((column) => ({ column, descending: false })),
  z
    .object({
      column: columnName.describe("The column to sort by."),
      descending: z.boolean().default(false).describe("Sort this column from the greatest value down."),
    })
    .strict(),
]);

function isRegExp(source: string): boolean {
  return regExpError(source) === undefined;
}

function regExpError(source: unknown): string | undefined {
  try {
    new RegExp(String(source));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * `include` held a regular expression before it took globs: a value that can only be one (a backslash, or
 * anchored with ^ or $) is refused with the way to keep it, rather than matched as a glob that finds nothing.
 */
function looksLikeRegExp(pattern: string): boolean {
  return pattern.includes("\\") || pattern.startsWith("^") || pattern.endsWith("$");
}

function globs(field: "include" | "exclude") {
  const glob = z
    .string()
    .min(1)
    .refine((pattern) => !looksLikeRegExp(pattern), {
      error: (issue) =>
        `takes globs (e.g. "*.parquet" or "data/**/*.json.gz"); ${JSON.stringify(issue.input)} looks like a regular expression` +
        (field === "include" ? ": put it in snapshot.includeRegex instead" : ": write it as a glob"),
    });
  return z.union([glob, z.array(glob).min(1)]);
}

/** The canonical folder URI, or undefined when it is no URI at all (reported where the URI is used). */
function folderOf(uri: string): string | undefined {
  try {
    return asFolder(normalizeUri(uri));
  } catch {
    return undefined;
  }
}

/** The folder relative local paths are resolved against while a config file is parsed (the file's own). */
const relativePathBase = new AsyncLocalStorage<string>();

/**
 * A location field: while a config file is parsed, a relative local path in it is resolved against the
 * file's folder (a trailing "/" kept), so the file works the same from any working directory. URIs
 * (`s3://`, `file://`), absolute paths and configs parsed without a file stay as written.
 */
const location = <T extends z.ZodType<string, string>>(schema: T) =>
  schema.transform((value) => {
    const base = relativePathBase.getStore();
    if (base === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || isAbsolute(value)) return value;
    return resolve(base, value) + (value.endsWith("/") ? "/" : "");
  });

/** An `s3://` URI or a local path (`file://` or plain). */
const storageUri = location(
  z
    .string()
    .min(1)
    .refine((uri) => isS3Uri(uri) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || uri.startsWith("file:///"), {
      message: "use an s3:// URI or a local path",
    }),
);

const snapshotSource = z.union([
  z
    .object({
      uri: location(z.string().min(1)).describe(
        "A folder (an s3:// prefix or a local path) holding the snapshot's data files; step 0 lists it.",
      ),
      include: globs("include")
        .optional()
        .describe(
          'Keep only files matching this glob (picomatch) or any of these globs. A glob without "/" matches the file name anywhere under uri ("*.parquet"); one with "/" matches the path relative to uri ("run=2024-*/**").',
        ),
      exclude: globs("exclude")
        .optional()
        .describe(
          "Leave out files matching this glob or any of these globs (same rules as include); wins over include.",
        ),
      includeRegex: z
        .string()
        .refine(isRegExp, { error: (issue) => `not a valid regular expression: ${regExpError(issue.input)}` })
        .optional()
        .describe(
          "Keep only files whose path relative to uri matches this regular expression (with include: both must match).",
        ),
    })
    .strict()
    .describe("A folder of data files, listed by step 0."),
  z
    .object({
      manifestUri: location(z.string().min(1)).describe(
        "A manifest summary JSON you wrote (snaplake's or s3manifesto's), listing the snapshot's files: step 0 reads it instead of listing a folder.",
      ),
      allowedRoots: z
        .array(storageUri)
        .optional()
        .describe(
          "Folders or buckets (s3://bucket/prefix/) the manifest's files may lie in besides the manifest's own folder (local) or bucket (S3). A manifest stored in S3 may never name a local path.",
        ),
    })
    .strict()
    .describe("A manifest you wrote, listing the snapshot's files."),
  z
    .object({
      dynamodbExport: location(z.string().min(1)).describe(
        'A DynamoDB "Export to S3" folder, .../AWSDynamoDB/<exportId>/: its own manifests list the files (read it with the dynamodb-export reader).',
      ),
    })
    .strict()
    .describe("A DynamoDB export to S3 (full, or incremental into a Delta merge)."),
  z
    .object({
      rdsExport: location(z.string().min(1)).describe(
        "An RDS or Aurora snapshot export to S3, .../<export-identifier>/ (its Parquet files: the parquet reader).",
      ),
      table: z
        .string()
        .regex(
          /^[^./]+\.[^./]+(\.[^./]+)?$/,
          "use database.schema.table (PostgreSQL) or database.table (MySQL)",
        )
        .describe(
          "The exported table to read: database.schema.table (PostgreSQL) or database.table (MySQL).",
        ),
    })
    .strict()
    .describe("One table of an RDS or Aurora snapshot export to S3."),
]);

export const COMPRESSIONS = ["zstd", "snappy", "gzip", "lz4", "brotli", "uncompressed"] as const;

const awsSettings = z
  .object({
    region: z
      .string()
      .optional()
      .describe("AWS region of the buckets and tables (else AWS_REGION or the profile's region)."),
    s3Endpoint: z
      .string()
      .url()
      .optional()
      .describe("An S3-compatible endpoint (MinIO, LocalStack...); AWS_ENDPOINT_URL_S3 works too."),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe(
        "Address buckets as endpoint/bucket rather than bucket.endpoint (most S3-compatible servers need it).",
      ),
    dynamodbEndpoint: z
      .string()
      .url()
      .optional()
      .describe("A DynamoDB endpoint (DynamoDB Local...); AWS_ENDPOINT_URL_DYNAMODB works too."),
    glueEndpoint: z
      .string()
      .url()
      .optional()
      .describe(
        "An AWS Glue endpoint, for an Iceberg table in the Glue Data Catalog (a local stand-in...); AWS_ENDPOINT_URL_GLUE works too.",
      ),
  })
  .strict();

const trackerSettings = z
  .object({
    tableName: z
      .string()
      .min(3)
      .max(255)
      .optional()
      .describe(
        "The DynamoDB table holding every step's tasks, shared by all workers (create it with `snaplake tracker create`). Without it, the embedded tracker (dynalite in .snaplake/ beside the config file) is used.",
      ),
    indexName: z
      .string()
      .min(3)
      .optional()
      .describe(
        "The tracker table's index by status (default by-status, as `snaplake tracker create` makes it).",
      ),
    leaseSeconds: z
      .number()
      .positive()
      .default(300)
      .describe(
        "How long a claimed task stays owned without a heartbeat before another worker may take it over.",
      ),
    maxAttempts: z
      .number()
      .int()
      .positive()
      .default(3)
      .describe("Attempts per task before it is ignored (failed for good until `snaplake retry`)."),
    retryDelaySeconds: z
      .number()
      .nonnegative()
      .max(60)
      .default(1)
      .describe("Wait before retrying a retryable failure: doubled per attempt, with jitter, at most 60 s."),
  })
  .strict();

const deltaLogStore = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z
          .literal("dynamodb")
          .describe("The DynamoDB commit table Delta Spark and delta-rs share (S3DynamoDbLogStore)."),
        tableName: z
          .string()
          .min(3)
          .max(255)
          .describe("The commit table's name (the table's first commit creates it when it is missing)."),
      })
      .strict(),
    z
      .object({
        type: z
          .literal("conditional-put")
          .describe(
            "AWS S3 conditional writes (If-None-Match: *); S3-compatible stores may not enforce them.",
          ),
      })
      .strict(),
  ])
  .describe(
    "How step 4 makes a Delta or Iceberg commit exclusive on S3 (local folders use an exclusive create); needed for a Delta table on S3, and for an Iceberg table on S3 in the filesystem catalog. Iceberg metadata versions go in the same DynamoDB commit table as Delta's.",
  );

const icebergCatalog = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z
          .literal("filesystem")
          .describe(
            "metadata/v<N>.metadata.json created only if absent, plus metadata/version-hint.text (the default).",
          ),
      })
      .strict(),
    z
      .object({
        type: z
          .literal("glue")
          .describe(
            "The AWS Glue Data Catalog, as Athena reads it: a Glue table with table_type ICEBERG and metadata_location, swapped with Glue's VersionId.",
          ),
        database: z.string().min(1).describe("The Glue database holding the table (it must exist)."),
        name: z.string().min(1).describe("The Glue table's name (created by the table's first commit)."),
      })
      .strict(),
  ])
  .describe(
    'Iceberg: where the current metadata file is recorded: { "type": "filesystem" } (default) or { "type": "glue", "database", "name" }.',
  );

export const TABLE_FORMATS = ["hive", "delta", "iceberg"] as const;
export const TABLE_MODES = ["append", "overwrite", "replacePartitions", "merge"] as const;

const tableSettings = z
  .object({
    format: z
      .enum(TABLE_FORMATS)
      .default("hive")
      .describe(
        "hive: plain partition folders, files visible as they are written. delta: step 4 commits the validated run's files to _delta_log/ in one atomic commit. iceberg: step 4 commits them as one Apache Iceberg (format version 2) snapshot, through table.catalog.",
      ),
    mode: z
      .enum(TABLE_MODES)
      .default("append")
      .describe(
        "Delta and Iceberg: append the run's rows, make them the whole table (overwrite), or replace the partitions the run writes (replacePartitions). Delta only: merge them by recordIdColumn (upserts, and deletes of the keys whose latest change is a deletion: a DynamoDB incremental export). Hive: append only.",
      ),
    logStore: deltaLogStore.optional(),
    catalog: icebergCatalog.optional(),
  })
  .strict();

export const projectConfigSchema = z
  .object({
    projectId: identifier.describe(
      "One id per snapshot-to-lake conversion (letters, digits, '.', '_', '-'): the tracker keys every task by it, and staging goes under stagingUri/projectId/. A new snapshot takes a new projectId.",
    ),
    snapshot: snapshotSource.describe(
      "Where the snapshot is: a folder ({ uri, include, exclude, includeRegex }), a manifest you wrote ({ manifestUri, allowedRoots }), a DynamoDB export ({ dynamodbExport }) or one table of an RDS export ({ rdsExport, table }).",
    ),
    stagingUri: location(z.string().min(1)).describe(
      "Where manifests, staging Parquet and bad rows go (per project, under stagingUri/projectId/).",
    ),
    datalakeUri: location(z.string().min(1)).describe(
      "Where the compacted, partitioned lake (or the Delta table) goes; must not overlap stagingUri.",
    ),
    targetFileGroupSize: byteSize
      .default(100 * 1024 * 1024)
      .describe(
        'Step 1.1 packs the snapshot\'s files into groups of about this many bytes once read (gzip files inflated): a byte count or a size such as "100MB" (the default).',
      ),
    partitionKeys: z
      .array(columnName)
      .default([])
      .describe(
        "Columns the lake is partitioned by, in folder order (k=v/...); a derived column may be one.",
      ),
    sortBy: z
      .array(sortKey)
      .default([])
      .describe('Columns each lake file is sorted by: names, or { "column", "descending" } (default: none).'),
    targetParquetFileSize: byteSize
      .default(128 * 1024 * 1024)
      .describe(
        'Step 2.3 writes lake files of about this size: a byte count or a size such as "128MB" (the default).',
      ),
    compression: z
      .enum(COMPRESSIONS)
      .default("zstd")
      .describe("Codec of the lake files and of the staging files written in the lake's form."),
    rowGroupSize: z
      .number()
      .int()
      .positive()
      .default(122_880)
      .describe("Rows per Parquet row group in the lake files."),
    recordIdColumn: z
      .union([columnName, z.array(columnName).min(1)])
      .optional()
      .describe(
        "With updateTimeColumn: keep only the latest row per record id in the lake. With table.mode \"merge\": the table's key, one column or several (e.g. a DynamoDB table's partition and sort key).",
      ),
    updateTimeColumn: columnName
      .optional()
      .describe("With recordIdColumn: the column whose greatest value marks a record's latest version."),
    countColumn: columnName
      .optional()
      .describe("Validation also counts this column's non-null values, end to end, besides rows."),
    tracker: trackerSettings
      .default({ leaseSeconds: 300, maxAttempts: 3, retryDelaySeconds: 1 })
      .describe(
        "Where tasks are tracked (a DynamoDB table, or the embedded tracker) and how they are retried.",
      ),
    aws: awsSettings
      .default({})
      .describe("Region and endpoints; credentials come from the standard AWS chain, never from this file."),
    table: tableSettings
      .default({ format: "hive", mode: "append" })
      .describe("The lake's table format (hive, delta or iceberg) and how step 4 commits a run to it."),
  })
  .strict()
  .superRefine((config, ctx) => {
    const merge = config.table.mode === "merge";
    if (merge) {
      if (config.table.format !== "delta") {
        ctx.addIssue({
          code: "custom",
          path: ["table", "mode"],
          message:
            'mode "merge" needs format "delta": a merge removes the files holding changed keys, which only a Delta commit does here (Iceberg merge is not built yet)',
        });
      }
      if (!config.recordIdColumn) {
        ctx.addIssue({
          code: "custom",
          path: ["recordIdColumn"],
          message: 'table.mode "merge" needs the table\'s key column(s) here, e.g. ["pk", "sk"]',
        });
      }
      if (config.updateTimeColumn) {
        ctx.addIssue({
          code: "custom",
          path: ["updateTimeColumn"],
          message:
            "table.mode \"merge\" orders a key's changes by the export's write timestamp: remove updateTimeColumn",
        });
      }
    } else if (Array.isArray(config.recordIdColumn)) {
      ctx.addIssue({
        code: "custom",
        path: ["recordIdColumn"],
        message: 'several key columns are for table.mode "merge"; de-duplication takes one column',
      });
    } else if (Boolean(config.recordIdColumn) !== Boolean(config.updateTimeColumn)) {
      ctx.addIssue({
        code: "custom",
        path: [config.recordIdColumn ? "updateTimeColumn" : "recordIdColumn"],
        message: "recordIdColumn and updateTimeColumn go together (de-duplication needs both)",
      });
    }
    const staging = folderOf(config.stagingUri);
    const lake = folderOf(config.datalakeUri);
    // Staging Parquet inside the lake would be read as lake data (and the lake's cleanup would delete it).
    if (staging && lake && (staging.startsWith(lake) || lake.startsWith(staging))) {
      ctx.addIssue({
        code: "custom",
        path: ["datalakeUri"],
        message: `must not overlap stagingUri (${staging === lake ? "the same folder" : "one is inside the other"}): use separate folders`,
      });
    }
    if (config.partitionKeys.length !== new Set(config.partitionKeys).size) {
      ctx.addIssue({ code: "custom", path: ["partitionKeys"], message: "partition keys must be distinct" });
    }
    const { format, catalog } = config.table;
    const fileSystemCommits = format === "delta" || (format === "iceberg" && catalog?.type !== "glue");
    if (fileSystemCommits && /^s3:\/\//i.test(config.datalakeUri) && !config.table.logStore) {
      ctx.addIssue({
        code: "custom",
        path: ["table", "logStore"],
        message:
          `a ${format === "delta" ? "Delta" : "filesystem-catalog Iceberg"} table on S3 needs a log store, since a plain PUT can overwrite another writer's commit: ` +
          '{ "type": "dynamodb", "tableName": "delta_log" } (shared with Delta Spark and delta-rs) or, on AWS S3, ' +
          '{ "type": "conditional-put" }',
      });
    }
    if (config.table.format === "hive" && config.table.mode !== "append" && !merge) {
      ctx.addIssue({
        code: "custom",
        path: ["table", "mode"],
        message: `mode "${config.table.mode}" needs format "delta" or "iceberg" (a hive lake has no commits to replace files with)`,
      });
    }
    if (catalog && format !== "iceberg") {
      ctx.addIssue({
        code: "custom",
        path: ["table", "catalog"],
        message: `a catalog is for format "iceberg"; this table's format is "${format}"`,
      });
    }
  });

/**
 * A project config as written (before defaults). Every field, with its type, default and what it does, is in
 * the [configuration reference](../docs/configuration.md) and the config file's JSON Schema,
 * [snaplake.schema.json](../snaplake.schema.json), both generated from `projectConfigSchema`; `snaplake init`
 * writes a commented example.
 */
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
/**
 * A parsed project config: `ProjectConfigInput` with its defaults filled in. The fields are described in
 * the [configuration reference](../docs/configuration.md).
 */
export type ProjectConfig = z.output<typeof projectConfigSchema>;
export type SortKey = ProjectConfig["sortBy"][number];
export type Compression = ProjectConfig["compression"];
export type TableSettings = ProjectConfig["table"];

/** The single de-duplication column (steps 2.1 to 3); a merge's key columns are the table's business. */
export function dedupeColumn(config: ProjectConfig): string | undefined {
  return config.table.mode === "merge" || Array.isArray(config.recordIdColumn)
    ? undefined
    : config.recordIdColumn;
}

/** A merge's key columns, in order. */
export function mergeKeyColumns(config: ProjectConfig): string[] {
  const id = config.recordIdColumn;
  return id === undefined ? [] : Array.isArray(id) ? id : [id];
}

export interface ParseConfigOptions {
  /** The folder relative local paths are resolved against: a config file's own (default: kept relative). */
  relativeTo?: string;
}

/** Parses a config object; throws `ConfigError` naming every field at fault. */
export function parseProjectConfig(
  input: unknown,
  source = "project config",
  options: ParseConfigOptions = {},
): ProjectConfig {
  const parse = () => projectConfigSchema.safeParse(input);
  const result = options.relativeTo === undefined ? parse() : relativePathBase.run(options.relativeTo, parse);
  if (!result.success) throw new ConfigError(source, formatZodIssues(result.error.issues));
  return result.data;
}
