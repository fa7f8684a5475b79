/** The Delta format behind the lake-table seam: one `commitToDeltaTable` per run, with the configured log store. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TableSettings } from "../config.js";
import type { Storage } from "../storage/types.js";
import { commitDeltaRewrite, commitToDeltaTable, type DeltaCommitResult, tableRoot } from "./delta/commit.js";
import { DeltaInputError, DeltaTableNotFoundError } from "./delta/errors.js";
import { loadSnapshot } from "./delta/log.js";
import {
  type CommitLayout,
  ConditionalPutLogStore,
  DELTA_LOG_LAYOUT,
  type DeltaLogStore,
  DynamoDbLogStore,
} from "./delta/log-store.js";
import { vacuum } from "./delta/maintenance.js";
import { commitDeltaMerge } from "./delta/merge.js";
import { openDeltaTable } from "./delta/table.js";
import { optimizeAppId, optimizePlanOf } from "./optimize-plan.js";
import type {
  LakeCommitResult,
  LakeRun,
  LakeTable,
  OptimizeCommitResult,
  OptimizePlan,
  VacuumResult,
} from "./types.js";

export class DeltaLakeTable implements LakeTable {
  readonly format = "delta" as const;

  constructor(
    private readonly storage: Storage,
    private readonly tableUri: string,
    private readonly mode: TableSettings["mode"],
    private readonly logStore: DeltaLogStore | undefined,
    /** mode "merge": the table's key column(s). */
    private readonly keyColumns: readonly string[] = [],
  ) {}

  async commit(run: LakeRun): Promise<LakeCommitResult> {
    const common = {
      storage: this.storage,
      tableUri: this.tableUri,
      projectId: run.projectId,
      files: run.files,
      partitionColumns: run.partitionColumns,
      partitionTypes: run.partitionTypes,
      ...(this.logStore ? { logStore: this.logStore } : {}),
    };
    const result: DeltaCommitResult =
      this.mode === "merge"
        ? await commitDeltaMerge({ ...common, keyColumns: this.keyColumns })
        : await commitToDeltaTable({ ...common, mode: this.mode });
    // The commit landed; a missing checkpoint only slows readers down, and the next commit writes one.
    const { checkpointError, ...rest } = result;
    return {
      format: this.format,
      ...rest,
      ...(checkpointError ? { checkpointError: checkpointError.message } : {}),
    };
  }

  async committedVersion(projectId: string): Promise<number | null> {
    try {
      const snapshot = await loadSnapshot(this.storage, tableRoot(this.tableUri), {
        ...(this.logStore ? { logStore: this.logStore } : {}),
      });
      return snapshot.txns.get(projectId)?.version ?? null;
    } catch (error) {
      if (error instanceof DeltaTableNotFoundError) return null;
      throw error;
    }
  }

  async planOptimize(options: { targetFileSize: number }): Promise<OptimizePlan> {
    const table = await openDeltaTable(this.storage, this.tableUri, this.logStoreOption());
    return optimizePlanOf({ ...table, format: this.format }, options);
  }

  async commitOptimize(plan: OptimizePlan, projectId: string): Promise<OptimizeCommitResult> {
    const appId = optimizeAppId(plan);
    const snapshot = await loadSnapshot(this.storage, this.tableUri, this.logStoreOption());
    const committed = snapshot.txns.get(appId);
    const none = { format: this.format, filesAdded: 0, filesRemoved: 0, rowsAdded: 0, rowsRemoved: 0 };
    if (committed) return { ...none, version: committed.version, committed: false, superseded: false };
    const inputs = plan.groups.flatMap((group) => group.inputs.map((file) => file.path));
    if (inputs.some((path) => !snapshot.files.has(path)))
      return { ...none, version: snapshot.version, committed: false, superseded: true };
    const { checkpointError, ...result } = await commitDeltaRewrite({
      storage: this.storage,
      tableUri: this.tableUri,
      appId,
      projectId,
      removePaths: inputs,
      files: plan.groups.map((group) => group.output),
      ...this.logStoreOption(),
    });
    return {
      format: this.format,
      ...result,
      superseded: false,
      ...(checkpointError ? { checkpointError: checkpointError.message } : {}),
    };
  }

  vacuum(options: { retainMs: number; dryRun: boolean }): Promise<VacuumResult> {
    return vacuum(this.storage, this.tableUri, { ...options, ...this.logStoreOption() });
  }

  private logStoreOption(): { logStore?: DeltaLogStore } {
    return this.logStore ? { logStore: this.logStore } : {};
  }
}

/**
 * The configured log store, for Delta logs or (with ICEBERG_METADATA_LAYOUT) Iceberg metadata versions;
 * undefined lets the library pick (exclusive create on local folders).
 */
export function deltaLogStoreFor(
  settings: TableSettings,
  storage: Storage,
  dynamodb: (() => DynamoDBClient) | undefined,
  layout: CommitLayout = DELTA_LOG_LAYOUT,
): DeltaLogStore | undefined {
  const store = settings.logStore;
  if (!store) return undefined;
  if (store.type === "conditional-put") return new ConditionalPutLogStore(storage, layout);
  if (!dynamodb) {
    throw new DeltaInputError(
      `table.logStore is the DynamoDB table "${store.tableName}", but this project was built without a DynamoDB client (pass the runtime)`,
    );
  }
  return new DynamoDbLogStore({ storage, client: dynamodb(), tableName: store.tableName, layout });
}
