/** The Delta format behind the lake-table seam: one `commitToDeltaTable` per run, with the configured log store. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TableSettings } from "../config.js";
import type { Storage } from "../storage/types.js";
import { commitToDeltaTable, type DeltaCommitResult } from "./delta/commit.js";
import { DeltaInputError } from "./delta/errors.js";
import { ConditionalPutLogStore, type DeltaLogStore, DynamoDbLogStore } from "./delta/log-store.js";
import { commitDeltaMerge } from "./delta/merge.js";
import type { LakeCommitResult, LakeRun, LakeTable } from "./types.js";

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
}

/** The configured log store; undefined lets the Delta library pick (exclusive create on local folders). */
export function deltaLogStoreFor(
  settings: TableSettings,
  storage: Storage,
  dynamodb: (() => DynamoDBClient) | undefined,
): DeltaLogStore | undefined {
  const store = settings.logStore;
  if (!store) return undefined;
  if (store.type === "conditional-put") return new ConditionalPutLogStore(storage);
  if (!dynamodb) {
    throw new DeltaInputError(
      `table.logStore is the DynamoDB table "${store.tableName}", but this project was built without a DynamoDB client (pass the runtime)`,
    );
  }
  return new DynamoDbLogStore({ storage, client: dynamodb(), tableName: store.tableName });
}
