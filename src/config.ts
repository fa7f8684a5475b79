/**
 * The project configuration: one object, parsed with zod at the boundary. Errors name the field.
 * Everything inside snaplake works with the parsed, typed `ProjectConfig`.
 */
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
  z.object({ column: columnName, descending: z.boolean().default(false) }).strict(),
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

/** An `s3://` URI or a local path (`file://` or plain). */
const storageUri = z
  .string()
  .min(1)
  .refine((uri) => isS3Uri(uri) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || uri.startsWith("file:///"), {
    message: "use an s3:// URI or a local path",
  });

const snapshotSource = z.union([
  z
    .object({
      /** A folder (prefix) holding the snapshot's data files. */
      uri: z.string().min(1),
      /**
       * Keep only files matching this glob (picomatch) or any of these globs. A glob without "/" matches the
       * file name anywhere under `uri` (`"*.parquet"`); one with "/" matches the path relative to `uri`
       * (`"run=2024-*\/**"`).
       */
      include: globs("include").optional(),
      /** Leave out files matching this glob or any of these globs (same rules as `include`); wins over it. */
      exclude: globs("exclude").optional(),
      /** Keep only files whose path relative to `uri` matches this regular expression (with `include`: both). */
      includeRegex: z
        .string()
        .refine(isRegExp, { error: (issue) => `not a valid regular expression: ${regExpError(issue.input)}` })
        .optional(),
    })
    .strict(),
  z
    .object({
      /** A ready manifest summary JSON (ours or s3manifesto's), written by the user. */
      manifestUri: z.string().min(1),
      /**
       * Folders or buckets (`s3://bucket/prefix/`) the manifest's files may lie in besides the manifest's
       * own folder (local) or bucket (S3). A manifest stored in S3 may never name a local path.
       */
      allowedRoots: z.array(storageUri).optional(),
    })
    .strict(),
  z
    .object({
      /** A DynamoDB "Export to S3" folder, `.../AWSDynamoDB/<exportId>/`: its own manifests list the files. */
      dynamodbExport: z.string().min(1),
    })
    .strict(),
  z
    .object({
      /** An RDS or Aurora snapshot export to S3, `.../<export-identifier>/`. */
      rdsExport: z.string().min(1),
      /** The exported table to read: `database.schema.table` (PostgreSQL) or `database.table` (MySQL). */
      table: z
        .string()
        .regex(
          /^[^./]+\.[^./]+(\.[^./]+)?$/,
          "use database.schema.table (PostgreSQL) or database.table (MySQL)",
        ),
    })
    .strict(),
]);

export const COMPRESSIONS = ["zstd", "snappy", "gzip", "lz4", "brotli", "uncompressed"] as const;

const awsSettings = z
  .object({
    region: z.string().optional(),
    /** S3-compatible endpoint (MinIO, LocalStack...). `AWS_ENDPOINT_URL_S3` works too. */
    s3Endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().optional(),
    /** DynamoDB endpoint (DynamoDB Local...). `AWS_ENDPOINT_URL_DYNAMODB` works too. */
    dynamodbEndpoint: z.string().url().optional(),
  })
  .strict();

const trackerSettings = z
  .object({
    /** DynamoDB table holding every step's tasks. Without it, the embedded tracker (dynalite) is used. */
    tableName: z.string().min(3).max(255).optional(),
    indexName: z.string().min(3).optional(),
    /** How long a claimed task stays owned without a heartbeat. */
    leaseSeconds: z.number().positive().default(300),
    maxAttempts: z.number().int().positive().default(3),
    /** Wait before retrying a retryable failure: doubled per attempt, with jitter, at most 60 s. */
    retryDelaySeconds: z.number().nonnegative().max(60).default(1),
  })
  .strict();

/** How step 4 makes a Delta commit exclusive on S3 (local folders use an exclusive create). */
const deltaLogStore = z.discriminatedUnion("type", [
  /** The DynamoDB commit table Delta Spark and delta-rs share (S3DynamoDbLogStore); create it with `createDeltaLogTable`. */
  z.object({ type: z.literal("dynamodb"), tableName: z.string().min(3).max(255) }).strict(),
  /** AWS S3 conditional writes (If-None-Match: *); S3-compatible stores may not enforce them. */
  z.object({ type: z.literal("conditional-put") }).strict(),
]);

export const TABLE_FORMATS = ["hive", "delta"] as const;
export const TABLE_MODES = ["append", "overwrite", "replacePartitions", "merge"] as const;

const tableSettings = z
  .object({
    /** hive: plain partition folders, files visible when written. delta: step 4 commits them to `_delta_log/`. */
    format: z.enum(TABLE_FORMATS).default("hive"),
    /**
     * Delta: add the run's rows, make them the whole table, replace the partitions the run writes, or merge
     * them by `recordIdColumn` (upsert, and delete the keys whose latest change is a deletion: a DynamoDB
     * incremental export), rewriting only the files whose key range can hold a changed key.
     */
    mode: z.enum(TABLE_MODES).default("append"),
    logStore: deltaLogStore.optional(),
  })
  .strict();

export const projectConfigSchema = z
  .object({
    projectId: identifier,
    snapshot: snapshotSource,
    /** Where manifests and staging Parquet go. */
    stagingUri: z.string().min(1),
    /** Where the compacted lake goes. */
    datalakeUri: z.string().min(1),
    /** Step 1 reads snapshot files in groups of about this many bytes once read (gzip files inflated). */
    targetFileGroupSize: byteSize.default(100 * 1024 * 1024),
    partitionKeys: z.array(columnName).default([]),
    sortBy: z.array(sortKey).default([]),
    targetParquetFileSize: byteSize.default(128 * 1024 * 1024),
    /** Codec of the lake files (staging files are intermediate and always lz4). */
    compression: z.enum(COMPRESSIONS).default("zstd"),
    rowGroupSize: z.number().int().positive().default(122_880),
    /**
     * With `updateTimeColumn`: keep only the latest row per record id in the lake. With `table.mode: "merge"`:
     * the table's key, one column or several (e.g. a DynamoDB table's partition and sort key).
     */
    recordIdColumn: z.union([columnName, z.array(columnName).min(1)]).optional(),
    updateTimeColumn: columnName.optional(),
    /** Count this column's non-null values in validation, in addition to rows. */
    countColumn: columnName.optional(),
    tracker: trackerSettings.default({ leaseSeconds: 300, maxAttempts: 3, retryDelaySeconds: 1 }),
    aws: awsSettings.default({}),
    table: tableSettings.default({ format: "hive", mode: "append" }),
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
            'mode "merge" needs format "delta": a merge removes the files holding changed keys, which only a Delta commit can do',
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
    if (config.table.format === "delta" && /^s3:\/\//i.test(config.datalakeUri) && !config.table.logStore) {
      ctx.addIssue({
        code: "custom",
        path: ["table", "logStore"],
        message:
          "a Delta table on S3 needs a log store, since a plain PUT can overwrite another writer's commit: " +
          '{ "type": "dynamodb", "tableName": "delta_log" } (shared with Delta Spark and delta-rs) or, on AWS S3, ' +
          '{ "type": "conditional-put" }',
      });
    }
    if (config.table.format === "hive" && config.table.mode !== "append" && !merge) {
      ctx.addIssue({
        code: "custom",
        path: ["table", "mode"],
        message: `mode "${config.table.mode}" needs format "delta" (a hive lake has no commits to replace files with)`,
      });
    }
  });

export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
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

/** Parses a config object; throws `ConfigError` naming every field at fault. */
export function parseProjectConfig(input: unknown, source = "project config"): ProjectConfig {
  const result = projectConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, formatZodIssues(result.error.issues));
  return result.data;
}
