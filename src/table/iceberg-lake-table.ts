/**
 * The Iceberg format behind the lake-table seam: one snapshot per run through the configured catalog
 * (filesystem: metadata/v<N>.metadata.json; or the Glue Data Catalog). A table "version" here is the
 * snapshot's sequence number (1, 2, 3…), which orders commits as Delta versions do; snapshot ids are in
 * the results too.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TableSettings } from "../config.js";
import type { Storage } from "../storage/types.js";
import { locateDataFile } from "./data-files.js";
import { deltaLogStoreFor } from "./delta-lake-table.js";
import {
  commitIcebergRewrite,
  commitToIcebergTable,
  FileSystemCatalog,
  GlueCatalog,
  type GlueClientLike,
  ICEBERG_METADATA_LAYOUT,
  type IcebergCatalog,
  type IcebergCommitResult,
  IcebergInputError,
  IcebergMetadataError,
  type IcebergWriteMode,
  openIcebergTable,
  vacuumIcebergTable,
} from "./iceberg/index.js";
import { committedSnapshot } from "./iceberg/metadata.js";
import { optimizeAppId, optimizePlanOf } from "./optimize-plan.js";
import type {
  LakeCommitResult,
  LakeRun,
  LakeTable,
  OptimizeCommitResult,
  OptimizePlan,
  VacuumResult,
} from "./types.js";

export class IcebergLakeTable implements LakeTable {
  readonly format = "iceberg" as const;

  constructor(
    private readonly storage: Storage,
    readonly catalog: IcebergCatalog,
    private readonly mode: IcebergWriteMode,
  ) {}

  async commit(run: LakeRun): Promise<LakeCommitResult> {
    const result = await commitToIcebergTable({
      storage: this.storage,
      catalog: this.catalog,
      projectId: run.projectId,
      mode: this.mode,
      files: run.files,
      partitionColumns: run.partitionColumns,
      partitionTypes: run.partitionTypes,
    });
    return this.resultOf(result);
  }

  async committedVersion(projectId: string): Promise<number | null> {
    const state = await this.catalog.load();
    return committedSnapshot(state?.metadata, projectId)?.sequenceNumber ?? null;
  }

  async planOptimize(options: { targetFileSize: number }): Promise<OptimizePlan> {
    const table = await openIcebergTable(this.storage, this.catalog);
    const invalid = (message: string) => new IcebergMetadataError(message);
    const files = table.files.map((file) => ({
      path: file.uri,
      uri: file.uri,
      size: file.size,
      rows: file.rows,
      // As the folder names them: the form the rewritten file's folder takes too.
      partitionValues: locateDataFile(table.uri, file.uri, table.partitionColumns, invalid, "Iceberg")
        .partitionValues,
    }));
    return optimizePlanOf(
      { format: this.format, version: table.sequenceNumber, partitionColumns: table.partitionColumns, files },
      options,
    );
  }

  async commitOptimize(plan: OptimizePlan, _projectId: string): Promise<OptimizeCommitResult> {
    const appId = optimizeAppId(plan);
    const table = await openIcebergTable(this.storage, this.catalog);
    const none = { format: this.format, filesAdded: 0, filesRemoved: 0, rowsAdded: 0, rowsRemoved: 0 };
    const committed = committedSnapshot(table.metadata, appId);
    if (committed) return { ...none, version: committed.sequenceNumber, committed: false, superseded: false };
    const live = new Set(table.files.map((file) => file.uri));
    const inputs = plan.groups.flatMap((group) => group.inputs.map((file) => file.path));
    if (inputs.some((path) => !live.has(path)))
      return { ...none, version: table.sequenceNumber, committed: false, superseded: true };
    const result = await commitIcebergRewrite({
      storage: this.storage,
      catalog: this.catalog,
      appId,
      removePaths: inputs,
      files: plan.groups.map((group) => group.output),
    });
    return { ...this.resultOf(result), superseded: false };
  }

  vacuum(options: { retainMs: number; dryRun: boolean }): Promise<VacuumResult> {
    return vacuumIcebergTable(this.storage, this.catalog, options);
  }

  private resultOf(result: IcebergCommitResult): LakeCommitResult {
    const { sequenceNumber, ...rest } = result;
    return { format: this.format, version: sequenceNumber, ...rest };
  }
}

/** The AWS clients a table may need, made on first use by the runtime. */
export interface LakeTableClients {
  /** For a commit store that is a DynamoDB table. */
  dynamodb?: () => DynamoDBClient;
  /** For an Iceberg table in the Glue Data Catalog. */
  glue?: () => GlueClientLike;
}

/** The configured catalog of an Iceberg table at `tableUri`. */
export function icebergCatalogFor(
  settings: TableSettings,
  storage: Storage,
  tableUri: string,
  clients: LakeTableClients,
): IcebergCatalog {
  const catalog = settings.catalog ?? { type: "filesystem" };
  if (catalog.type === "filesystem") {
    const store = deltaLogStoreFor(settings, storage, clients.dynamodb, ICEBERG_METADATA_LAYOUT);
    return new FileSystemCatalog(storage, tableUri, store);
  }
  if (!clients.glue) {
    throw new IcebergInputError(
      `table.catalog is the Glue table ${catalog.database}.${catalog.name}, but this project was built without a Glue client (pass the runtime)`,
    );
  }
  return new GlueCatalog({
    storage,
    client: clients.glue(),
    database: catalog.database,
    name: catalog.name,
    tableUri,
  });
}

export function icebergWriteMode(mode: TableSettings["mode"]): IcebergWriteMode {
  if (mode === "merge") {
    throw new IcebergInputError(
      'table.mode "merge" is not built for Iceberg tables yet: use format "delta", or mode append, overwrite or replacePartitions',
    );
  }
  return mode;
}
