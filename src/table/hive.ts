/** A plain Hive-partitioned lake: files are visible to readers as soon as step 2.3 writes them. */
import { TableOperationUnsupportedError } from "../errors.js";
import type {
  LakeCommitResult,
  LakeRun,
  LakeTable,
  OptimizeCommitResult,
  OptimizePlan,
  VacuumResult,
} from "./types.js";

export class HiveLakeTable implements LakeTable {
  readonly format = "hive" as const;

  async commit(run: LakeRun): Promise<LakeCommitResult> {
    return {
      format: this.format,
      version: null,
      committed: false,
      filesAdded: run.files.length,
      filesRemoved: 0,
      rowsAdded: 0,
      rowsRemoved: 0,
    };
  }

  async committedVersion(): Promise<null> {
    return null;
  }

  // Readers of plain folders would see a rewrite's inputs and outputs at once: rows twice, or none.
  async planOptimize(): Promise<OptimizePlan> {
    throw new TableOperationUnsupportedError("optimize", this.format);
  }

  async commitOptimize(): Promise<OptimizeCommitResult> {
    throw new TableOperationUnsupportedError("optimize", this.format);
  }

  // Without a log, every file of a hive lake is referenced.
  async vacuum(): Promise<VacuumResult> {
    throw new TableOperationUnsupportedError("vacuum", this.format);
  }
}
