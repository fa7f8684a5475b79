/**
 * Optimize (maintenance across runs): the small files of each partition, from every run that wrote to the
 * table, are rewritten into files of about the target size, in one commit that changes no data. The table
 * format plans which files go together and commits the swap (LakeTable.planOptimize / commitOptimize);
 * this step writes the new files: each group's rows, read in the plan's order, sorted by `sortBy`.
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { type Compression, type SortKey, TABLE_FORMATS } from "../config.js";
import { SnaplakeError } from "../errors.js";
import { concatHarmonized } from "../frames/harmonize.js";
import { frameToParquet } from "../frames/parquet.js";
import type { Storage } from "../storage/types.js";
import type { OptimizePlan, OptimizePlanGroup } from "../table/types.js";
import { sortedLazy } from "./step-2-3-compact-partition-group.js";

/** The tracker's name for optimize tasks: maintenance, not one of the numbered steps of a run. */
export const OPTIMIZE_STEP = "optimize";

/** A plan as recorded in staging (external JSON: parsed at the boundary). */
export const optimizePlanSchema: z.ZodType<OptimizePlan> = z.object({
  format: z.enum(TABLE_FORMATS),
  readVersion: z.number().int(),
  id: z.string().min(1),
  partitionColumns: z.array(z.string()),
  groups: z.array(
    z.object({
      partitionValues: z.record(z.string(), z.string().nullable()),
      inputs: z
        .array(
          z.object({
            path: z.string(),
            uri: z.string(),
            size: z.number().int().nonnegative(),
            rows: z.number().int().nonnegative().nullable(),
          }),
        )
        .min(2),
      output: z.string().min(1),
    }),
  ),
});

export interface RewriteOptions {
  sortBy: readonly SortKey[];
  compression: Compression;
  rowGroupSize: number;
  signal?: AbortSignal;
}

/**
 * Writes one group's output file: its inputs' rows (schemas harmonised: a column a file lacks is null),
 * sorted by the sort keys that are data columns (partition columns are one value per partition). A file
 * an earlier attempt already wrote is kept: its name comes from its inputs, and writes are atomic.
 */
export async function rewriteOptimizeGroup(
  storage: Storage,
  plan: OptimizePlan,
  group: OptimizePlanGroup,
  options: RewriteOptions,
): Promise<{ uri: string; bytes: number }> {
  if (await storage.exists(group.output))
    return { uri: group.output, bytes: (await storage.head(group.output)).size };
  const frames: Array<{ frame: pl.DataFrame; source: string }> = [];
  for (const input of group.inputs) {
    options.signal?.throwIfAborted();
    frames.push({ frame: pl.readParquet(await storage.get(input.uri)), source: input.uri });
  }
  const sortBy = options.sortBy.filter((key) => !plan.partitionColumns.includes(key.column));
  const frame = concatHarmonized(frames);
  const expected = group.inputs.every((input) => input.rows !== null)
    ? group.inputs.reduce((sum, input) => sum + (input.rows ?? 0), 0)
    : frames.reduce((sum, { frame }) => sum + frame.height, 0);
  if (frame.height !== expected) {
    throw new SnaplakeError(
      "UNEXPECTED_OUTCOME",
      `Optimize read ${frame.height} rows for ${group.output}, but its input files hold ${expected} by the table's statistics; nothing was written`,
    );
  }
  const bytes = await frameToParquet(sortedLazy(frame, sortBy), {
    compression: options.compression,
    rowGroupSize: options.rowGroupSize,
  });
  options.signal?.throwIfAborted();
  await storage.put(group.output, bytes);
  return { uri: group.output, bytes: bytes.length };
}
