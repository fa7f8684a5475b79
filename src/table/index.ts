/** The lake table a project writes, by its configured format. */
import type { TableSettings } from "../config.js";
import type { Storage } from "../storage/types.js";
import { DeltaLakeTable, deltaLogStoreFor } from "./delta-lake-table.js";
import { HiveLakeTable } from "./hive.js";
import {
  IcebergLakeTable,
  icebergCatalogFor,
  icebergWriteMode,
  type LakeTableClients,
} from "./iceberg-lake-table.js";
import type { LakeTable } from "./types.js";

export type { LakeTableClients } from "./iceberg-lake-table.js";
export type {
  LakeCommitResult,
  LakeRun,
  LakeTable,
  OptimizeCommitResult,
  OptimizePlan,
  OptimizePlanGroup,
  VacuumResult,
} from "./types.js";

export function openLakeTable(
  settings: TableSettings,
  storage: Storage,
  tableUri: string,
  clients: LakeTableClients = {},
  /** mode "merge": the table's key column(s) (the config's recordIdColumn). */
  merge: { keyColumns: readonly string[] } = { keyColumns: [] },
): LakeTable {
  switch (settings.format) {
    case "hive":
      return new HiveLakeTable();
    case "iceberg":
      return new IcebergLakeTable(
        storage,
        icebergCatalogFor(settings, storage, tableUri, clients),
        icebergWriteMode(settings.mode),
      );
    case "delta":
      return new DeltaLakeTable(
        storage,
        tableUri,
        settings.mode,
        deltaLogStoreFor(settings, storage, clients.dynamodb),
        merge.keyColumns,
      );
  }
}
