/**
 * The AWS Glue Data Catalog as an Iceberg catalog, as Athena reads it: a Glue table with
 * `Parameters.table_type = "ICEBERG"` and `metadata_location` naming the current metadata file. A commit
 * writes a new uniquely named metadata file, then swaps the pointer: CreateTable for a new table (fails
 * with AlreadyExistsException when another writer created it), UpdateTable with the `VersionId` read by
 * GetTable and `previous_metadata_location` (fails with ConcurrentModificationException when another
 * writer updated it meanwhile). Those two failures are lost races; anything else is an error.
 *
 * The client is injected with the Glue API's own request and response shapes (what
 * `@aws-sdk/client-glue`'s GetTable/CreateTable/UpdateTable commands take and return), so the catalog
 * needs no AWS SDK package of its own.
 */
import { randomUUID } from "node:crypto";
import type { Storage } from "../../storage/types.js";
import { joinUri } from "../../storage/uri.js";
import { type IcebergCatalog, type IcebergCatalogState, tableLocation } from "./catalog.js";
import { IcebergCatalogError, IcebergTableNotFoundError } from "./errors.js";
import { type IcebergTableMetadata, parseTableMetadata } from "./metadata.js";

export interface GlueTableInput {
  Name: string | undefined;
  TableType?: string | undefined;
  Parameters?: Record<string, string> | undefined;
  StorageDescriptor?: { Location?: string | undefined } | undefined;
}

/** The three Glue calls the catalog makes, with the Glue API's shapes. */
export interface GlueClientLike {
  getTable(input: { DatabaseName: string; Name: string }): Promise<{
    Table?: (GlueTableInput & { VersionId?: string | undefined }) | undefined;
  }>;
  createTable(input: { DatabaseName: string; TableInput: GlueTableInput }): Promise<unknown>;
  updateTable(input: {
    DatabaseName: string;
    TableInput: GlueTableInput;
    VersionId?: string;
  }): Promise<unknown>;
}

/** Glue's error names (the SDK's `error.name`) for the outcomes the catalog handles. */
const NOT_FOUND = "EntityNotFoundException";
const LOST_RACE = new Set(["AlreadyExistsException", "ConcurrentModificationException"]);

export interface GlueCatalogOptions {
  storage: Storage;
  client: GlueClientLike;
  database: string;
  name: string;
  /** The table location (where a new table's data and metadata go). */
  tableUri: string;
}

export class GlueCatalog implements IcebergCatalog {
  readonly tableUri: string;
  readonly displayName: string;
  private readonly versions = new Map<string, string | undefined>();

  constructor(private readonly options: GlueCatalogOptions) {
    this.tableUri = tableLocation(options.tableUri);
    this.displayName = `glue:${options.database}.${options.name}`;
  }

  async load(): Promise<IcebergCatalogState | null> {
    const { client, database, name, storage } = this.options;
    let table: Awaited<ReturnType<GlueClientLike["getTable"]>>["Table"];
    try {
      table = (await client.getTable({ DatabaseName: database, Name: name })).Table;
    } catch (error) {
      if ((error as Error).name === NOT_FOUND) return null;
      throw new IcebergCatalogError(`Glue GetTable ${database}.${name} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const location = table?.Parameters?.metadata_location;
    if (table?.Parameters?.table_type?.toUpperCase() !== "ICEBERG" || !location) {
      throw new IcebergTableNotFoundError(
        this.displayName,
        "the Glue table exists but is not an Iceberg table (no table_type=ICEBERG with a metadata_location)",
      );
    }
    this.versions.set(location, table.VersionId);
    const metadata = parseTableMetadata((await storage.get(location)).toString("utf8"), location);
    return { metadata, metadataLocation: location };
  }

  async commit(base: IcebergCatalogState | null, metadata: IcebergTableMetadata): Promise<string | null> {
    const { client, database, name, storage } = this.options;
    const sequence = base ? sequenceOf(base.metadataLocation) + 1 : 0;
    const location = joinUri(
      this.tableUri,
      `metadata/${String(sequence).padStart(5, "0")}-${randomUUID()}.metadata.json`,
    );
    await storage.put(location, `${JSON.stringify(metadata, null, 2)}\n`, {
      contentType: "application/json",
    });
    const tableInput: GlueTableInput = {
      Name: name,
      TableType: "EXTERNAL_TABLE",
      Parameters: {
        table_type: "ICEBERG",
        metadata_location: location,
        ...(base ? { previous_metadata_location: base.metadataLocation } : {}),
      },
      StorageDescriptor: { Location: this.tableUri },
    };
    try {
      if (base) {
        const versionId = this.versions.get(base.metadataLocation);
        await client.updateTable({
          DatabaseName: database,
          TableInput: tableInput,
          ...(versionId ? { VersionId: versionId } : {}),
        });
      } else {
        await client.createTable({ DatabaseName: database, TableInput: tableInput });
      }
    } catch (error) {
      await storage.delete([location]);
      if (LOST_RACE.has((error as Error).name)) return null;
      throw new IcebergCatalogError(
        `Glue ${base ? "UpdateTable" : "CreateTable"} ${database}.${name} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return location;
  }
}

/** The `00003-<uuid>.metadata.json` sequence of a metadata file; 0 for other names. */
function sequenceOf(location: string): number {
  const match = /\/(\d+)-[^/]*\.metadata\.json$/.exec(location);
  return match ? Number(match[1]) : 0;
}
