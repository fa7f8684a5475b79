/**
 * Step 3: validate the lake against the snapshot. A listed snapshot's folder must still hold the files step 0
 * listed (no file added or resized: that fails with SNAPSHOT_CHANGED). Rows are accounted for end to end:
 *   snapshot rows (when known) = rows read by step 1.3
 *   a file's rows in the snapshot manifest (when known) = rows step 1.3 read from it (when the reader
 *   reported rows per file, as the dynamodb-export reader does: a DynamoDB export's itemCount per file)
 *   rows read = rows written to staging + bad rows + rows dropped on purpose (e.g. duplicates) + older
 *   versions of records removed within the group (with de-duplication)
 *   staging rows of a partition = lake rows of that partition (counted from the Parquet footers) + duplicates
 *   removed (within groups by step 1.3, across them by step 2.3)
 * and every lake file has the lake schema step 2.1 planned (its footer's columns and types, in order); with
 * a record id column, every id is in the lake once, across partitions.
 * Any task not succeeded is a gap, and any unexplained difference is a problem naming the partition. The
 * result is written as JSON next to the manifests; `ok` is false when anything is off.
 */

import pl from "nodejs-polars";
import pLimit from "p-limit";
import { SnaplakeError } from "../errors.js";
import { concatHarmonized } from "../frames/harmonize.js";
import { footerColumnTypes, readParquetFooter } from "../frames/parquet.js";
import { Locations } from "../models/locations.js";
import {
  type LakeSchema,
  lakeSchemaSchema,
  readJson,
  type SnapshotManifest,
  type StagingManifest,
  snapshotFileGroupSchema,
  stagingManifestSchema,
  writeJson,
} from "../models/manifests.js";
import type { Storage } from "../storage/types.js";
import { parentFolder, relativeKey } from "../storage/uri.js";
import type { Task, TaskTracker } from "../tracker/types.js";
import { Step, taskInput, taskOutput } from "./catalogue.js";
import { findSnapshotChanges, SnapshotChangedError, type SnapshotSource } from "./step-0-build-manifest.js";

export interface PartitionReport {
  partition: string;
  stagingRows: number;
  stagingBytes: number;
  duplicatesRemoved: number;
  lakeRows: number;
  lakeFiles: number;
  lakeBytes: number;
  countColumnNonNull?: number;
  ok: boolean;
}

export interface TaskGap {
  step: string;
  taskId: string;
  status: string;
  files?: string[];
  lastError?: string;
}

export interface ValidationResult {
  ok: boolean;
  checkedAt: string;
  snapshot: { files: number; bytes: number; rows: number | null; fingerprint: string };
  staging: {
    groups: number;
    groupsSucceeded: number;
    rowsRead: number;
    rowsWritten: number;
    badRows: number;
    dropped: Record<string, number>;
    files: number;
    bytes: number;
  };
  lake: { partitions: number; files: number; bytes: number; rows: number; duplicatesRemoved: number };
  gaps: TaskGap[];
  problems: string[];
  partitions: PartitionReport[];
}

export class ValidationFailedError extends SnaplakeError {
  readonly result: ValidationResult;
  constructor(result: ValidationResult, resultUri: string) {
    const lines = [
      ...result.gaps.map(
        (g) => `${g.step} task ${g.taskId} is ${g.status}${g.lastError ? ` (${g.lastError})` : ""}`,
      ),
      ...result.problems,
    ];
    const shown =
      lines.slice(0, 10).join("; ") + (lines.length > 10 ? `; and ${lines.length - 10} more` : "");
    super("VALIDATION_FAILED", `Data lake validation failed: ${shown}. Details: ${resultUri}`);
    this.result = result;
  }
}

function lastError(task: Task): string | undefined {
  const last = task.errors.at(-1);
  return last ? `${last.name}: ${last.message}` : undefined;
}

/** One problem per record id found more than once across the lake (the first few, then a count). */
function duplicateIds(ids: pl.DataFrame, idColumn: string): string[] {
  const repeated = ids
    .filter(pl.col("id").isNotNull())
    .groupBy("id")
    .agg(pl.col("file").count().alias("count"), pl.col("file").unique().sort().alias("files"))
    .filter(pl.col("count").gt(1))
    .sort("id");
  const shown = 5;
  const problems = repeated
    .head(shown)
    .toRecords()
    .map(
      (row) =>
        `record id ${String(row.id)} ("${idColumn}") is in the lake ${row.count} times: ${(row.files as unknown as string[]).join(", ")}`,
    );
  if (repeated.height > shown)
    problems.push(`and ${repeated.height - shown} more record ids in the lake more than once`);
  return problems;
}

/** What differs between a file's columns and the lake schema, or undefined when they are the same. */
function schemaDifference(
  columns: ReadonlyArray<readonly [string, string]>,
  lakeSchema: LakeSchema,
): string | undefined {
  const expected = new Map(lakeSchema.columns.map((c) => [c.name, c.type]));
  const found = new Map(columns);
  const differences: string[] = [];
  for (const [name, type] of expected) {
    const actual = found.get(name);
    if (actual === undefined) differences.push(`${name} (${type}) is missing`);
    else if (actual !== type) differences.push(`${name} is ${actual}, the lake's is ${type}`);
  }
  for (const [name, type] of found) {
    if (!expected.has(name)) differences.push(`${name} (${type}) is not in the lake schema`);
  }
  if (differences.length > 0) return differences.join(", ");
  const order = columns.map(([name]) => name).join(", ");
  const expectedOrder = lakeSchema.columns.map((c) => c.name).join(", ");
  return order === expectedOrder ? undefined : `columns in order ${order}, the lake's are ${expectedOrder}`;
}

/**
 * Each snapshot file whose row count the manifest knows, against the rows step 1.3 read from it, for the
 * groups whose reader reported rows per file; and each such group's per-file rows against its rows read.
 */
function reconcileFiles(manifest: SnapshotManifest, stagingManifests: readonly StagingManifest[]): string[] {
  const problems: string[] = [];
  const rowsRead = new Map<string, number>();
  for (const m of stagingManifests) {
    if (!m.rowsPerFile) continue;
    const perFile = Object.values(m.rowsPerFile).reduce((a, b) => a + b, 0);
    if (perFile !== m.rowsRead) {
      problems.push(
        `group ${m.snapshotGroup}: its files' rows add up to ${perFile} but it read ${m.rowsRead}`,
      );
    }
    for (const [uri, rows] of Object.entries(m.rowsPerFile)) rowsRead.set(uri, rows);
  }
  for (const file of manifest.files) {
    const read = rowsRead.get(file.uri);
    if (file.nRecord === null || read === undefined || read === file.nRecord) continue;
    problems.push(
      `snapshot file ${file.uri}: the snapshot manifest counts ${file.nRecord} rows but step 1.3 read ${read}`,
    );
  }
  return problems;
}

export async function validateDatalake(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  manifest: SnapshotManifest;
  /** With a listed snapshot, its folder is listed again: files added or changed since step 0 fail the check. */
  snapshotSource?: SnapshotSource;
  countColumn?: string;
  /** With de-duplication: every record id must be in the lake once, across all partitions. */
  recordIdColumn?: string;
}): Promise<ValidationResult> {
  const { storage, tracker, projectId, locations, manifest } = input;
  const limit = pLimit(8);
  const gaps: TaskGap[] = [];
  const problems: string[] = [];

  // Step 0: is the snapshot folder still the snapshot the manifest recorded?
  const changes = input.snapshotSource
    ? await findSnapshotChanges(storage, manifest, input.snapshotSource)
    : undefined;
  for (const uri of changes?.added ?? []) problems.push(`SNAPSHOT_CHANGED: ${uri} was added after step 0`);
  for (const uri of changes?.changed ?? []) problems.push(`SNAPSHOT_CHANGED: ${uri} changed after step 0`);

  // Step 1: did every snapshot file go through a succeeded group?
  const snapshotTasks = await tracker.list(projectId, Step.snapshotToStaging);
  const plannedFiles = snapshotTasks.reduce((n, t) => n + taskInput(Step.snapshotToStaging, t).files, 0);
  if (snapshotTasks.length === 0) problems.push("no snapshot file groups were planned (run step 1.1)");
  else if (plannedFiles !== manifest.files.length) {
    problems.push(`snapshot has ${manifest.files.length} files but the planned groups hold ${plannedFiles}`);
  }
  const succeeded = snapshotTasks.filter((t) => t.status === "succeeded");
  for (const task of snapshotTasks.filter((t) => t.status !== "succeeded")) {
    const group = await readJson(
      storage,
      taskInput(Step.snapshotToStaging, task).groupUri,
      snapshotFileGroupSchema,
    ).catch(() => undefined);
    gaps.push({
      step: Step.snapshotToStaging,
      taskId: task.taskId,
      status: task.status,
      ...(group ? { files: group.files.map((f) => f.uri) } : {}),
      ...(lastError(task) ? { lastError: lastError(task) } : {}),
    });
  }
  const stagingManifests = await Promise.all(
    succeeded.map((t) =>
      limit(() =>
        readJson(storage, taskOutput(Step.snapshotToStaging, t).stagingManifestUri, stagingManifestSchema),
      ),
    ),
  );
  const staging: ValidationResult["staging"] = {
    groups: snapshotTasks.length,
    groupsSucceeded: succeeded.length,
    rowsRead: 0,
    rowsWritten: 0,
    badRows: 0,
    dropped: {},
    files: 0,
    bytes: 0,
  };
  const partitions = new Map<string, PartitionReport>();
  const partitionOf = (partition: string) => {
    let report = partitions.get(partition);
    if (!report) {
      report = {
        partition,
        stagingRows: 0,
        stagingBytes: 0,
        duplicatesRemoved: 0,
        lakeRows: 0,
        lakeFiles: 0,
        lakeBytes: 0,
        ok: true,
      };
      partitions.set(partition, report);
    }
    return report;
  };
  // Each staging file counts once: a file named twice (by one manifest or two) would be compacted twice.
  const stagingFileOwners = new Map<string, string>();
  for (const m of stagingManifests) {
    staging.rowsRead += m.rowsRead;
    staging.rowsWritten += m.rowsWritten;
    staging.badRows += m.badRows;
    for (const [reason, n] of Object.entries(m.dropped))
      staging.dropped[reason] = (staging.dropped[reason] ?? 0) + n;
    const droppedTotal = Object.values(m.dropped).reduce((a, b) => a + b, 0);
    const deduplicated = m.duplicatesRemoved ?? 0;
    if (m.rowsRead !== m.rowsWritten + m.badRows + droppedTotal + deduplicated) {
      problems.push(
        `group ${m.snapshotGroup}: ${m.rowsRead} rows read but ${m.rowsWritten} written + ${m.badRows} bad + ${droppedTotal} dropped` +
          (m.duplicatesRemoved === undefined ? "" : ` + ${deduplicated} older versions removed`),
      );
    }
    for (const file of m.files) {
      const owner = stagingFileOwners.get(file.uri);
      if (owner !== undefined) {
        problems.push(
          owner === m.snapshotGroup
            ? `staging file ${file.uri} is named twice in the staging manifest of group ${m.snapshotGroup}`
            : `staging file ${file.uri} is named by the staging manifests of groups ${owner} and ${m.snapshotGroup}`,
        );
        continue;
      }
      stagingFileOwners.set(file.uri, m.snapshotGroup);
      staging.files += 1;
      staging.bytes += file.size;
      // Older versions step 1.3 removed within the group count as staged and de-duplicated, as the ones
      // step 2.3 removes across groups do.
      const report = partitionOf(file.partition);
      report.stagingRows += file.nRecord + (file.duplicatesRemoved ?? 0);
      report.duplicatesRemoved += file.duplicatesRemoved ?? 0;
      report.stagingBytes += file.size;
    }
  }
  problems.push(...reconcileFiles(manifest, stagingManifests));
  if (manifest.nRecord !== null && gaps.length === 0 && staging.rowsRead !== manifest.nRecord) {
    problems.push(
      `the snapshot manifest counts ${manifest.nRecord} rows but step 1.3 read ${staging.rowsRead}`,
    );
  }

  // Step 2: compaction tasks and their de-duplication.
  const compactionTasks = await tracker.list(projectId, Step.compact);
  if (compactionTasks.length === 0 && staging.files > 0)
    problems.push("no compaction groups were planned (run step 2.1)");
  for (const task of compactionTasks) {
    const partition = taskInput(Step.compact, task).partition;
    if (task.status === "succeeded") {
      partitionOf(partition).duplicatesRemoved += taskOutput(Step.compact, task).duplicatesRemoved;
    } else {
      gaps.push({
        step: Step.compact,
        taskId: task.taskId,
        status: task.status,
        ...(lastError(task) ? { lastError: lastError(task) } : {}),
      });
    }
  }

  // The lake as it really is: every Parquet file, its rows and schema from the footer.
  let lakeSchema: LakeSchema | undefined;
  if (compactionTasks.length > 0) {
    if (await storage.exists(locations.lakeSchema)) {
      lakeSchema = await readJson(storage, locations.lakeSchema, lakeSchemaSchema);
    } else {
      problems.push(`the lake schema ${locations.lakeSchema} is missing (plan step 2.1 again)`);
    }
  }
  // Only this project's files count: other runs may have written into the same lake (hive appends, or a
  // Delta table's earlier commits), and a Delta log's checkpoints are Parquet too.
  const ownGroups = new Set(compactionTasks.map((t) => taskInput(Step.compact, t).fingerprint));
  const lakeObjects = [];
  const idFrames: Array<{ frame: pl.DataFrame; source: string }> = [];
  for await (const object of storage.listSummaries(locations.datalake)) {
    const group = Locations.lakeFileGroup(object.uri);
    if (group !== undefined && ownGroups.has(group)) lakeObjects.push(object);
  }
  await Promise.all(
    lakeObjects.map((object) =>
      limit(async () => {
        const partition = relativeKey(locations.datalake, parentFolder(object.uri)).replace(/\/$/, "");
        const report = partitionOf(partition);
        report.lakeFiles += 1;
        report.lakeBytes += object.size;
        // Awaited before the +=: `x += await y` would read x first and lose concurrent updates.
        const footer = await readParquetFooter(storage, object.uri, object.size);
        report.lakeRows += Number(footer.num_rows);
        if (lakeSchema) {
          const difference = schemaDifference(footerColumnTypes(footer), lakeSchema);
          if (difference)
            problems.push(`lake file ${object.uri} does not have the lake schema: ${difference}`);
        }
        const dataColumns = [input.countColumn, input.recordIdColumn].filter((c): c is string => Boolean(c));
        if (dataColumns.length > 0) {
          // Counting values and matching ids need the columns' data: only then is the file read.
          const frame = pl.readParquet(await storage.get(object.uri), { columns: [...new Set(dataColumns)] });
          if (input.countColumn) {
            const column = frame.getColumn(input.countColumn);
            report.countColumnNonNull = (report.countColumnNonNull ?? 0) + column.len() - column.nullCount();
          }
          if (input.recordIdColumn) {
            idFrames.push({
              frame: frame.select(pl.col(input.recordIdColumn).alias("id"), pl.lit(object.uri).alias("file")),
              source: object.uri,
            });
          }
        }
      }),
    ),
  );

  if (input.recordIdColumn && idFrames.length > 0) {
    problems.push(...duplicateIds(concatHarmonized(idFrames), input.recordIdColumn));
  }

  const reports = [...partitions.values()].sort((a, b) => (a.partition < b.partition ? -1 : 1));
  for (const report of reports) {
    const expected = report.stagingRows - report.duplicatesRemoved;
    if (report.lakeRows !== expected) {
      report.ok = false;
      const where = report.partition || "(unpartitioned)";
      problems.push(
        report.stagingRows === 0
          ? `partition ${where}: ${report.lakeRows} rows in the lake that no staging file accounts for`
          : `partition ${where}: ${report.lakeRows} rows in the lake, expected ${expected} (${report.stagingRows} staged - ${report.duplicatesRemoved} duplicates)`,
      );
    }
  }
  const result: ValidationResult = {
    ok: gaps.length === 0 && problems.length === 0,
    checkedAt: new Date().toISOString(),
    snapshot: {
      files: manifest.files.length,
      bytes: manifest.size,
      rows: manifest.nRecord,
      fingerprint: manifest.fingerprint,
    },
    staging,
    lake: {
      partitions: reports.filter((r) => r.lakeFiles > 0).length,
      files: lakeObjects.length,
      bytes: reports.reduce((n, r) => n + r.lakeBytes, 0),
      rows: reports.reduce((n, r) => n + r.lakeRows, 0),
      duplicatesRemoved: reports.reduce((n, r) => n + r.duplicatesRemoved, 0),
    },
    gaps,
    problems,
    partitions: reports,
  };
  await writeJson(storage, locations.validationResult, result);
  if (changes?.folder && changes.added.length + changes.changed.length > 0)
    throw new SnapshotChangedError(changes.folder, changes, locations.validationResult);
  return result;
}
