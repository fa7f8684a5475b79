/** The lake table a project writes, by its configured format. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TableSettings } from "../config.js";
import type { Storage } from "../storage/types.js";
import { DeltaLakeTable, deltaLogStoreFor } from "./delta-lake-table.js";
import { HiveLakeTable } from "./hive.js";
import type { LakeTable } from "./types.js";

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
  dynamodb?: () => DynamoDBClient,
  /** mode "merge": the table's key column(s) (the config's recordIdColumn). */
  merge: { keyColumns: readonly string[] } = { keyColumns: [] },
): LakeTable {
  if (settings.format === "hive") return new HiveLakeTable();
  return new DeltaLakeTable(
    storage,
    tableUri,
    settings.mode,
    deltaLogStoreFor(settings, storage, dynamodb),
    merge.keyColumns,
  );
}
