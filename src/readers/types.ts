/**
 * The reader contract: what a reader of snapshot file groups is given (`ReadContext`) and returns (a frame,
 * or a `SnapshotReadResult` with bad rows, dropped counts and rows per file), and the derived columns
 * computed after it. Step 1.3 runs readers through this contract; the formats in this folder (and any
 * `Project.batchReadSnapshotDataFile`) implement it. It sits below the steps (only types), so a step and a
 * reader can both depend on it.
 */
import type pl from "nodejs-polars";
import type { FrameLike } from "../frames/convert.js";
import type { SnapshotFileGroup } from "../models/manifests.js";
import type { Storage } from "../storage/types.js";

/** A column computed from the frame the reader returned, e.g. a partition key from a timestamp. */
export interface DerivedColumn {
  name: string;
  expr: pl.Expr;
  /** How the column was declared, named when it fails (default: polars' text of `expr`). */
  declaration?: string;
}

/** A row the reader rejected, kept with its reason (written as one JSON line). */
export interface BadRecord {
  source: string;
  line?: number;
  raw?: string;
  errors: unknown[];
}

export interface SnapshotReadResult {
  data: FrameLike;
  /** Rows rejected as malformed: written to the bad-rows output and counted, never dropped silently. */
  badRows?: readonly BadRecord[];
  /** Rows removed on purpose, by reason (e.g. `{ "natural-duplicates": 3 }`); counted in validation. */
  dropped?: Readonly<Record<string, number>>;
  /**
   * Rows read from each file of the group, by URI, when the reader knows them (they add up to the rows
   * read): recorded in the staging manifest, so validation reconciles each file with its count in the
   * snapshot manifest (e.g. a DynamoDB export's itemCount).
   */
  rowsPerFile?: Readonly<Record<string, number>>;
}

export interface ReadContext {
  storage: Storage;
  signal: AbortSignal;
  /** Reads one file, gzip content inflated (off the event loop); a failure names the file. */
  readFile(uri: string): Promise<Buffer>;
  /** Decodes every file of the group with `decode` and concatenates the results; a failure names the file. */
  readEach(decode: (bytes: Buffer, uri: string) => FrameLike | Promise<FrameLike>): Promise<pl.DataFrame>;
}

/** The user's reader: `batchReadSnapshotDataFile` on a `Project`. */
export type BatchReadSnapshotDataFile = (
  group: SnapshotFileGroup,
  context: ReadContext,
) => Promise<FrameLike | SnapshotReadResult>;
