/** The typed errors of the Iceberg table layer; each names the table, file, snapshot or column at fault. */
import { SnaplakeError } from "../../errors.js";

/** A metadata JSON, manifest list or manifest is unreadable, malformed or not one this library reads. */
export class IcebergMetadataError extends SnaplakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ICEBERG_METADATA_INVALID", message, options);
  }
}

/** No metadata file under the URI (or catalog entry), or no such snapshot. */
export class IcebergTableNotFoundError extends SnaplakeError {
  constructor(
    readonly table: string,
    detail?: string,
  ) {
    super(
      "ICEBERG_TABLE_NOT_FOUND",
      detail
        ? `Iceberg table ${table}: ${detail}`
        : `No Iceberg table at ${table}: no metadata/v<N>.metadata.json`,
    );
  }
}

/** A commit lost a race to a snapshot it cannot be reordered after; nothing of it became current. */
export class IcebergConflictError extends SnaplakeError {
  constructor(
    readonly table: string,
    readonly readSnapshotId: number | null,
    readonly conflictingSnapshotId: number,
    reason: string,
  ) {
    super(
      "ICEBERG_COMMIT_CONFLICT",
      `Commit to Iceberg table ${table} read snapshot ${readSnapshotId ?? "(none)"}, but snapshot ` +
        `${conflictingSnapshotId}, committed meanwhile, ${reason}; nothing was committed. Re-run to commit ` +
        `against the new snapshot.`,
    );
  }
}

/** A column's type in the new files cannot be stored under the table's type; nothing was committed. */
export class IcebergSchemaError extends SnaplakeError {
  constructor(table: string, column: string, tableType: string, fileType: string, source: string) {
    super(
      "ICEBERG_SCHEMA_INCOMPATIBLE",
      `Column "${column}" is ${tableType} in Iceberg table ${table} but ${fileType} in ${source}; only new ` +
        `(optional) columns are added to a table's schema, types never change. Cast the column back to ` +
        `${tableType}, or write to a new table.`,
    );
  }
}

/** The caller's files, arguments or settings can't make a valid commit. */
export class IcebergInputError extends SnaplakeError {
  constructor(message: string) {
    super("ICEBERG_INPUT_INVALID", message);
  }
}

/** A catalog request failed (Glue, or the DynamoDB commit table), other than a lost race. */
export class IcebergCatalogError extends SnaplakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ICEBERG_CATALOG_FAILED", message, options);
  }
}
