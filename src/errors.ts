/**
 * snaplake's errors: the catalogue of every error code (its class, whether retrying can help, what to do),
 * the `SnaplakeError` base class, and `isRetryable` for anything thrown, ours or not. The README's table of
 * codes and the Step Functions definition's non-retryable list are generated from the catalogue.
 */

/**
 * `retryable`: `true` when a later attempt can succeed (network, throttling, another worker finishing),
 * `false` when only a change by a person can (config, data, code), `"cause"` for errors that wrap another
 * one (a failed read, a failed request): as retryable as what they wrap.
 */
export interface ErrorCatalogueEntry {
  /** The class thrown with this code (its `name`, which is also what Step Functions matches). */
  errorClass: string;
  retryable: boolean | "cause";
  /** One line: what to do about it. */
  action: string;
}

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: {
    errorClass: "ConfigError",
    retryable: false,
    action: "Fix the config field or argument the message names.",
  },
  AWS_CREDENTIALS_MISSING: {
    errorClass: "AwsCredentialsError",
    retryable: false,
    action: "Provide AWS credentials (environment, profile, SSO or role); never in the config file.",
  },
  ENDPOINT_UNREACHABLE: {
    errorClass: "EndpointUnreachableError",
    retryable: true,
    action: "Start the server at the endpoint the message names, or fix that endpoint setting.",
  },
  EMBEDDED_TRACKER_BUSY: {
    errorClass: "EmbeddedTrackerBusyError",
    retryable: true,
    action: "Wait for the other process, or use a DynamoDB table (tracker.tableName) for several workers.",
  },
  EMBEDDED_TRACKER_UNAVAILABLE: {
    errorClass: "EmbeddedTrackerUnavailableError",
    retryable: false,
    action: "Install the optional package dynalite (`npm install dynalite`), or set tracker.tableName.",
  },
  TRACKER_TABLE_INVALID: {
    errorClass: "TrackerTableError",
    retryable: false,
    action: "Create the tracker table with `snaplake tracker create`, or name another table.",
  },
  TASK_KEY_INVALID: {
    errorClass: "InvalidTaskKeyError",
    retryable: false,
    action: "Use a projectId, step and task ids without '#' and not empty.",
  },
  TASK_DATA_TOO_LARGE: {
    errorClass: "TaskDataTooLargeError",
    retryable: false,
    action: "Keep large task payloads in storage and only their URI in the task.",
  },
  TASK_DATA_INVALID: {
    errorClass: "TaskDataInvalidError",
    retryable: false,
    action:
      "Reset the project from the step that planned the task (`snaplake reset --from-step N`) to plan it again.",
  },
  TASK_LEASE_LOST: {
    errorClass: "LeaseLostError",
    retryable: false,
    action: "Nothing: another worker took the task over; raise tracker.leaseSeconds if tasks outlive it.",
  },
  TASK_FAILED: {
    errorClass: "TaskFailedError",
    retryable: true,
    action: "Nothing yet: the task has attempts left and is retried.",
  },
  TASK_ATTEMPTS_EXHAUSTED: {
    errorClass: "TaskAttemptsExhaustedError",
    retryable: false,
    action: "Fix the cause in the task's last error (`snaplake status`), then `snaplake retry`.",
  },
  TASK_NOT_FOUND: {
    errorClass: "TaskNotFoundError",
    retryable: false,
    action: "Plan the step first, and check the projectId of the event.",
  },
  STEP_FAILED: {
    errorClass: "StepFailedError",
    retryable: false,
    action: "Fix the cause in the step's last error (`snaplake status`), then `snaplake retry`.",
  },
  LAMBDA_EVENT_INVALID: {
    errorClass: "InvalidEventError",
    retryable: false,
    action: "Fix the Lambda event field the message names (see `snaplake sfn-definition`).",
  },
  UNEXPECTED_OUTCOME: {
    errorClass: "SnaplakeError",
    retryable: false,
    action: "A bug in snaplake: report it with the message.",
  },
  INVALID_URI: {
    errorClass: "InvalidUriError",
    retryable: false,
    action: "Use an s3://bucket/key URI or a local path.",
  },
  OBJECT_NOT_FOUND: {
    errorClass: "ObjectNotFoundError",
    retryable: false,
    action: "Check the URI; if a step's output is missing, run that step again.",
  },
  BUCKET_NOT_FOUND: {
    errorClass: "BucketNotFoundError",
    retryable: false,
    action: "Create the bucket or fix the bucket name in the URI.",
  },
  ACCESS_DENIED: {
    errorClass: "AccessDeniedError",
    retryable: false,
    action: "Grant the credentials access to the bucket and key (docs/aws-deployment.md).",
  },
  OUTSIDE_ROOT: {
    errorClass: "OutsideRootError",
    retryable: false,
    action: "Use keys inside the storage root: no '..' segments, no absolute keys.",
  },
  S3_REQUEST_FAILED: {
    errorClass: "StorageError",
    retryable: "cause",
    action: "Read the S3 error in the message; throttling and 5xx errors are retried.",
  },
  S3_DELETE_FAILED: {
    errorClass: "StorageError",
    retryable: true,
    action: "Nothing: deletes are retried; if it persists, check the bucket's permissions.",
  },
  LOCAL_IO_FAILED: {
    errorClass: "StorageError",
    retryable: "cause",
    action: "Check the disk (space, permissions) at the path the message names.",
  },
  MANIFEST_INVALID: {
    errorClass: "ManifestError",
    retryable: false,
    action: "Fix the manifest the message names, or let step 0 list the snapshot folder.",
  },
  MISSING_ETAG: {
    errorClass: "MissingEtagError",
    retryable: false,
    action: 'Fill "etag" for every file of your manifest.',
  },
  EMPTY_SNAPSHOT: {
    errorClass: "EmptySnapshotError",
    retryable: false,
    action: "Check snapshot.uri and snapshot.include.",
  },
  PLAN_CHANGED: {
    errorClass: "PlanChangedError",
    retryable: false,
    action: "Use a new projectId for a changed snapshot or group size.",
  },
  SNAPSHOT_FILE_UNREADABLE: {
    errorClass: "SnapshotFileReadError",
    retryable: "cause",
    action: "Fix or replace the file the message names, then `snaplake retry`.",
  },
  SNAPSHOT_GROUP_UNREADABLE: {
    errorClass: "SnapshotGroupReadError",
    retryable: "cause",
    action: "Fix the reader or the group's files the message names, then `snaplake retry`.",
  },
  DERIVED_COLUMN_FAILED: {
    errorClass: "DerivedColumnError",
    retryable: false,
    action: "Fix the derived column's expression the message names.",
  },
  MISSING_PARTITION_COLUMN: {
    errorClass: "MissingPartitionColumnError",
    retryable: false,
    action: "Produce the partition column in the reader or with derivedColumns.",
  },
  SCHEMA_CONFLICT: {
    errorClass: "SchemaConflictError",
    retryable: false,
    action: "Cast the column the message names to one type in your reader.",
  },
  STAGE_INCOMPLETE: {
    errorClass: "StageBarrierError",
    retryable: true,
    action: "Let step 1.3 finish; fix and `snaplake retry` its failed tasks, or `--force` a partial lake.",
  },
  STAGING_FILE_UNREADABLE: {
    errorClass: "StagingFileReadError",
    retryable: "cause",
    action: "Run step 1.3 again for the group that wrote the file (`snaplake retry`).",
  },
  MISSING_COLUMN: {
    errorClass: "MissingColumnError",
    retryable: false,
    action: "Fix sortBy, recordIdColumn or updateTimeColumn, or produce the column in the reader.",
  },
  VALIDATION_FAILED: {
    errorClass: "ValidationFailedError",
    retryable: false,
    action: "Read the gaps in the validation result; retry the failed tasks, then validate again.",
  },
  DYNAMODB_EXPORT_NOT_COMPLETED: {
    errorClass: "DynamoDbExportNotCompletedError",
    retryable: false,
    action: "Wait until the export's ExportStatus is COMPLETED, then run again.",
  },
  DYNAMODB_EXPORT_FORMAT_UNSUPPORTED: {
    errorClass: "DynamoDbExportFormatError",
    retryable: false,
    action: "Export the table again as DYNAMODB_JSON (or ION).",
  },
  DYNAMODB_EXPORT_MANIFEST_INVALID: {
    errorClass: "DynamoDbExportManifestError",
    retryable: false,
    action: "Point the snapshot at a complete, unmodified export folder.",
  },
  DYNAMODB_EXPORT_BAD_LINE: {
    errorClass: "DynamoDbExportLineError",
    retryable: false,
    action: "Replace the export file the message names (file and line).",
  },
  DYNAMODB_EXPORT_MIXED_TYPES: {
    errorClass: "DynamoDbMixedTypesError",
    retryable: false,
    action: 'Set reader.mixedTypes to "json", or declare the attribute\'s type in reader.columns.',
  },
  DYNAMODB_EXPORT_COLUMN_TYPE: {
    errorClass: "DynamoDbColumnTypeError",
    retryable: false,
    action: "Fix the type declared for the attribute in reader.columns.",
  },
  RDS_EXPORT_INFO_INVALID: {
    errorClass: "RdsExportInfoError",
    retryable: false,
    action:
      "Point snapshot.rdsExport at the export's own folder, holding its export_info and export_tables_info files.",
  },
  RDS_EXPORT_NOT_COMPLETE: {
    errorClass: "RdsExportNotCompleteError",
    retryable: false,
    action: "Wait until the export task is COMPLETE, then run again.",
  },
  RDS_EXPORT_TABLE_NOT_FOUND: {
    errorClass: "RdsExportTableNotFoundError",
    retryable: false,
    action: "Set snapshot.table to one of the tables the export lists (database.schema.table).",
  },
  RDS_EXPORT_TABLE_NOT_COMPLETE: {
    errorClass: "RdsExportTableNotReadyError",
    retryable: false,
    action: "Export the snapshot again (the table failed or was skipped), or choose another table.",
  },
  ENRICHED_READ_FAILED: {
    errorClass: "EnrichedReadError",
    retryable: "cause",
    action: "Replace the unreadable archive file (e.g. a truncated gzip) the message names.",
  },
  ENRICHED_EVENT_INVALID: {
    errorClass: "EnrichedEventError",
    retryable: false,
    action: "The line is not a valid enriched event: it is kept as a bad row.",
  },
  RUN_LEASE_LOST: {
    errorClass: "RunLeaseLostError",
    retryable: false,
    action: "Nothing: another process claimed the run; use a longer lease if runs outlive it.",
  },
  POPULATE_INTERRUPTED: {
    errorClass: "PopulateInterruptedError",
    retryable: true,
    action: "Run the same command again: it resumes.",
  },
  DYNAMODB_TABLE_NOT_READY: {
    errorClass: "TableNotReadyError",
    retryable: true,
    action: "Wait and run again; if it persists, check the table in the DynamoDB console.",
  },
  LAKE_SCHEMA_MISMATCH: {
    errorClass: "LakeSchemaMismatchError",
    retryable: false,
    action: "Re-plan compaction (snaplake reset --from-step 2.1), or cast the named column in your reader.",
  },
  PARTITION_VALUE_TOO_LONG: {
    errorClass: "PartitionPathTooLongError",
    retryable: false,
    action: "Derive a shorter partition value (e.g. a hash or prefix) for the column the message names.",
  },
  CONFIG_CHANGED: {
    errorClass: "ConfigChangedError",
    retryable: false,
    action:
      "Restore the named fields, or start over with `snaplake reset --from-step N` as the message says.",
  },
  PROJECT_NOT_TRACKED: {
    errorClass: "ProjectNotTrackedError",
    retryable: false,
    action: "Point --state-dir or tracker.tableName at the tracker that ran the project, or run it first.",
  },
  NOT_VALIDATED: {
    errorClass: "NotValidatedError",
    retryable: false,
    action: "Run step 3 (validate) and fix what it reports; step 4 commits only a validated run.",
  },
  RUN_COMMITTED: {
    errorClass: "RunCommittedError",
    retryable: false,
    action:
      "Reset from step 3 or 4 only (the table keeps its version), or run the changed data as a new projectId.",
  },
  RUN_INCOMPLETE: {
    errorClass: "RunIncompleteError",
    retryable: false,
    action: "Finish the step 2.3 tasks the message names (snaplake retry, then run), then validate.",
  },
  DUPLICATE_STAGING_FILE: {
    errorClass: "DuplicateStagingFileError",
    retryable: false,
    action: "Report it: a staging file is named twice; reset the project from step 1.3.",
  },
  RECORD_IN_SEVERAL_PARTITIONS: {
    errorClass: "RecordInSeveralPartitionsError",
    retryable: false,
    action: "Partition by a column that never changes between a record's versions, or drop recordIdColumn.",
  },
  OBJECT_EXISTS: {
    errorClass: "ObjectExistsError",
    retryable: false,
    action: "Nothing: another writer created the object first.",
  },
  DELTA_LOG_INVALID: {
    errorClass: "DeltaLogError",
    retryable: false,
    action: "Inspect the table's _delta_log; the message names the file at fault.",
  },
  DELTA_TABLE_NOT_FOUND: {
    errorClass: "DeltaTableNotFoundError",
    retryable: false,
    action: "Check the table URI: it has no _delta_log.",
  },
  DELTA_PROTOCOL_UNSUPPORTED: {
    errorClass: "DeltaProtocolError",
    retryable: false,
    action: "The table needs reader or writer features snaplake lacks; write to another table.",
  },
  DELTA_COMMIT_CONFLICT: {
    errorClass: "DeltaConflictError",
    // Not retryable: a retry would commit against the winner's version, so an overwrite would remove its rows.
    retryable: false,
    action:
      "Another writer changed the table after this commit read it: check the named commit, then re-run step 4 only if this run should still replace it.",
  },
  DELTA_SCHEMA_INCOMPATIBLE: {
    errorClass: "DeltaSchemaError",
    retryable: false,
    action: "Cast the named column to the table's type in your reader, or write to a new table.",
  },
  TABLE_OPERATION_UNSUPPORTED: {
    errorClass: "TableOperationUnsupportedError",
    retryable: false,
    action: 'Set table.format to "delta" or "iceberg" for a table that optimize and vacuum can maintain.',
  },
  DELTA_INPUT_INVALID: {
    errorClass: "DeltaInputError",
    retryable: false,
    action: "Fix the files or arguments the message names.",
  },
  ICEBERG_METADATA_INVALID: {
    errorClass: "IcebergMetadataError",
    retryable: false,
    action: "Inspect the table's metadata/ folder; the message names the file and field at fault.",
  },
  ICEBERG_TABLE_NOT_FOUND: {
    errorClass: "IcebergTableNotFoundError",
    retryable: false,
    action: "Check the table URI (it has no metadata/vN.metadata.json) or the Glue database and table name.",
  },
  ICEBERG_COMMIT_CONFLICT: {
    errorClass: "IcebergConflictError",
    retryable: true,
    action: "Run the commit again; if another overwrite keeps winning, stop the competing writer.",
  },
  ICEBERG_SCHEMA_INCOMPATIBLE: {
    errorClass: "IcebergSchemaError",
    retryable: false,
    action: "Cast the named column to the table's type in your reader, or write to a new table.",
  },
  ICEBERG_INPUT_INVALID: {
    errorClass: "IcebergInputError",
    retryable: false,
    action: "Fix the files, arguments or table settings the message names.",
  },
  ICEBERG_CATALOG_FAILED: {
    errorClass: "IcebergCatalogError",
    retryable: "cause",
    action: "Check the catalog (Glue database, permissions); the message names the request that failed.",
  },
  MANIFEST_ENTRY_OUTSIDE_ROOTS: {
    errorClass: "ManifestEntryOutsideRootsError",
    retryable: false,
    action: "Move the file under the snapshot folder, or list its folder in snapshot.allowedRoots.",
  },
  SNAPSHOT_FILE_CHANGED: {
    errorClass: "SnapshotFileChangedError",
    retryable: false,
    action: "The snapshot changed after step 0: start a new projectId, or `snaplake reset --from-step 0`.",
  },
  OBJECT_CHANGED: {
    errorClass: "ObjectChangedError",
    retryable: false,
    action: "The object changed since it was listed: start over from the step that listed it.",
  },
  LOCAL_LINK_LOOP: {
    errorClass: "StorageError",
    retryable: false,
    action: "Remove the symbolic link the message names.",
  },
  SNAPSHOT_CHANGED: {
    errorClass: "SnapshotChangedError",
    retryable: false,
    action:
      "Files were added or changed after step 0: use a new projectId, or `snaplake reset --from-step 0`.",
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;

/** Every code a `SnaplakeError` can carry. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * Base class of every error snaplake throws on purpose. `code` is stable and machine-readable;
 * the message says what went wrong and what to do about it; `retryable` says whether another attempt
 * can succeed without anyone changing anything.
 */
export class SnaplakeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const { retryable } = ERROR_CATALOGUE[code] as ErrorCatalogueEntry;
    this.retryable = retryable === "cause" ? isRetryable(options?.cause) : retryable;
  }
}

/** optimize or vacuum on a table format that cannot do it safely (a hive lake has no commits). */
export class TableOperationUnsupportedError extends SnaplakeError {
  constructor(operation: string, format: string) {
    super(
      "TABLE_OPERATION_UNSUPPORTED",
      `${operation} needs a table with commits (table.format "delta" or "iceberg"); this lake's format is "${format}", ` +
        "whose readers would see a rewrite's old and new files at once. Nothing was changed.",
    );
  }
}

/** Configuration or external JSON failed validation; `issues` name each field at fault. */
export class ConfigError extends SnaplakeError {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super("CONFIG_INVALID", `${source} is invalid: ${issues.join("; ")}`);
    this.issues = issues;
  }
}

/** The AWS SDK found no credentials (environment, profile, SSO, instance or Lambda role). */
export class AwsCredentialsError extends SnaplakeError {
  constructor(cause: unknown) {
    super(
      "AWS_CREDENTIALS_MISSING",
      "No AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role " +
        "provides them (never put keys in the config file)",
      { cause },
    );
  }
}

/** Nothing answers at an endpoint (refused, unknown host, timed out); names the setting it came from. */
export class EndpointUnreachableError extends SnaplakeError {
  readonly endpoint: string;
  constructor(endpoint: string, setting: string, cause: unknown) {
    const reason = (cause as { code?: unknown })?.code ?? (cause as Error)?.message ?? String(cause);
    super(
      "ENDPOINT_UNREACHABLE",
      `Cannot connect to ${endpoint} (${String(reason)}), the endpoint set by ${setting}: start the server there or fix ${setting}`,
      { cause },
    );
    this.endpoint = endpoint;
  }
}

/** Where an endpoint a command talks to was set, e.g. `aws.dynamodbEndpoint in ./snaplake.config.jsonc`. */
export interface EndpointSetting {
  url: string | undefined;
  setting: string;
}

/** Socket failures that mean nothing is listening at the address (or it can't be reached at all). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);

/**
 * Turns what the AWS SDK throws when it cannot even start (no credentials, nothing at the endpoint) into
 * a typed error whose one-line message names the setting to fix; `undefined` for any other error. Looks
 * through causes, since storage and step errors wrap the SDK's.
 */
export function explainConnectionError(
  error: unknown,
  endpoints: readonly EndpointSetting[] = [],
): SnaplakeError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof AwsCredentialsError || current instanceof EndpointUnreachableError) return current;
    if (current.name === "CredentialsProviderError") return new AwsCredentialsError(current);
    const socket = current as Error & {
      code?: unknown;
      address?: unknown;
      port?: unknown;
      hostname?: unknown;
    };
    if (typeof socket.code === "string" && UNREACHABLE_CODES.has(socket.code)) {
      const host = String(socket.hostname ?? socket.address ?? "");
      const known = endpoints.find((e) => e.url && endpointMatches(e.url, host, socket.port));
      const shown = known?.url ? safeOrigin(known.url) : `${host}${socket.port ? `:${socket.port}` : ""}`;
      const setting =
        known?.setting ??
        (endpoints
          .filter((e) => e.url)
          .map((e) => e.setting)
          .join(" or ") ||
          "the region's default AWS endpoint (check the network and the region)");
      return new EndpointUnreachableError(shown, setting, current);
    }
    current = current.cause;
  }
  return undefined;
}

function endpointMatches(url: string, host: string, port: unknown): boolean {
  try {
    const parsed = new URL(url);
    const defaultPort = parsed.protocol === "https:" ? "443" : "80";
    const portMatches = port === undefined || String(port) === (parsed.port || defaultPort);
    return parsed.hostname.replace(/^\[|\]$/g, "") === host && portMatches;
  } catch {
    return false;
  }
}

/** scheme://host:port only: an endpoint URL may carry user:password. */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}

/** Formats zod issues as `path.to.field: message`, never echoing the offending values (they may be secrets). */
export function formatZodIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/** Socket-level failures: the peer may be back, or the network may recover, by the next attempt. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** JavaScript's own errors: a bug or a bad value, the same on every attempt. */
const PROGRAMMING_ERRORS = new Set(["TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError"]);

/** AWS SDK error names that mean "slow down", whatever their HTTP status. */
const THROTTLING_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/**
 * Whether another attempt can succeed: a `SnaplakeError` says so itself; AWS SDK errors are retryable
 * when the SDK marks them so, when throttled, or on a 5xx; network errors are; JavaScript's own errors
 * (TypeError...) are not. Anything else is unknown and counted as retryable: attempts are bounded and
 * backed off, so a deterministic unknown error costs a few seconds, a transient one isn't lost.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SnaplakeError) return error.retryable;
  if (!(error instanceof Error)) return true;
  if (PROGRAMMING_ERRORS.has(error.name) || error.name === "CredentialsProviderError") return false;
  const aws = error as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (aws.$retryable) return true;
  if (THROTTLING_ERRORS.has(error.name)) return true;
  const status = aws.$metadata?.httpStatusCode;
  if (typeof status === "number") return status >= 500 || status === 429;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_ERROR_CODES.has(code)) return true;
  // The SDK wraps a socket failure: its cause (or an AggregateError's members) tell.
  if (error.cause !== undefined && error.cause !== error) return isRetryable(error.cause);
  if (error instanceof AggregateError) return error.errors.some(isRetryable);
  return true;
}

/** The catalogue's non-retryable classes: every code thrown by the class is `retryable: false`. */
export function nonRetryableErrorClasses(): string[] {
  const byClass = new Map<string, boolean>();
  for (const entry of Object.values(ERROR_CATALOGUE) as ErrorCatalogueEntry[]) {
    const final = entry.retryable === false;
    byClass.set(entry.errorClass, (byClass.get(entry.errorClass) ?? true) && final);
  }
  return [...byClass].filter(([name, final]) => final && name !== "SnaplakeError").map(([name]) => name);
}

/** The README's table of error codes, generated from the catalogue. */
export function errorCatalogueMarkdown(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(([code, entry]: [string, ErrorCatalogueEntry]) => {
    const retry = entry.retryable === "cause" ? "as its cause" : entry.retryable ? "yes" : "no";
    return `| \`${code}\` | ${entry.errorClass} | ${retry} | ${entry.action.replaceAll("|", "\\|")} |`;
  });
  return ["| code | class | retried | what to do |", "|---|---|---|---|", ...rows].join("\n");
}
