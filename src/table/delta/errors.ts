/** The typed errors of the Delta Lake table layer; each names the table, file, version or column at fault. */
import { SnaplakeError } from "../../errors.js";

/** A log file (commit JSON, checkpoint, `_last_checkpoint`) is unreadable, malformed or missing from the chain. */
export class DeltaLogError extends SnaplakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DELTA_LOG_INVALID", message, options);
  }
}

/** No `_delta_log` commit at all under the URI, or none at the requested version. */
export class DeltaTableNotFoundError extends SnaplakeError {
  constructor(
    readonly tableUri: string,
    readonly version?: number,
  ) {
    super(
      "DELTA_TABLE_NOT_FOUND",
      version === undefined
        ? `No Delta table at ${tableUri}: ${tableUri}/_delta_log/ holds no commit`
        : `Delta table ${tableUri} has no version ${version}`,
    );
  }
}

/** The table needs a protocol version or table feature this library does not implement. */
export class DeltaProtocolError extends SnaplakeError {
  constructor(tableUri: string, detail: string) {
    super("DELTA_PROTOCOL_UNSUPPORTED", `Delta table ${tableUri}: ${detail}`);
  }
}

/** A commit lost a race to a commit it cannot be reordered after; nothing of it was written. */
export class DeltaConflictError extends SnaplakeError {
  constructor(
    readonly tableUri: string,
    readonly readVersion: number,
    readonly conflictingVersion: number,
    reason: string,
    /** The writers' txn appIds (projectIds), when known: this commit's and the one that won. */
    writers: { ours?: string; theirs?: string } = {},
  ) {
    const ours = writers.ours ? ` of ${writers.ours}` : "";
    const theirs = writers.theirs ? ` (by ${writers.theirs})` : "";
    super(
      "DELTA_COMMIT_CONFLICT",
      `Commit${ours} to Delta table ${tableUri} read version ${readVersion}, but version ${conflictingVersion}${theirs}, ` +
        `committed meanwhile, ${reason}; nothing was committed. Re-run to commit against the new version.`,
    );
  }
}

/** A column's type in the new files cannot be stored under the table's type; nothing was committed. */
export class DeltaSchemaError extends SnaplakeError {
  constructor(
    readonly tableUri: string,
    readonly column: string,
    readonly tableType: string,
    readonly fileType: string,
    source: string,
  ) {
    super(
      "DELTA_SCHEMA_INCOMPATIBLE",
      `Column "${column}" is ${tableType} in Delta table ${tableUri} but ${fileType} in ${source}; ` +
        `only new (nullable) columns are added to a table's schema, types never change. Cast the column back ` +
        `to ${tableType}, or write to a new table.`,
    );
  }
}

/** The caller's files or arguments can't make a valid commit (a file outside the table, a bad partition value). */
export class DeltaInputError extends SnaplakeError {
  constructor(message: string) {
    super("DELTA_INPUT_INVALID", message);
  }
}
