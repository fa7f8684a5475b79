/** A plain Hive-partitioned lake: files are visible to readers as soon as step 2.3 writes them. */
import type { LakeCommitResult, LakeRun, LakeTable } from "./types.js";

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
}
