/**
 * Step 2.1: plan compaction. Only once every step-1.3 task succeeded (the stage barrier) unless forced.
 * The staging manifests to read come from the tracker's task outputs, not from listing a folder. Per
 * partition, a staging file already in the lake's form that needs no merge is promoted (copied as it is,
 * never decoded: compactors leave right-sized files alone); the others are packed into merges whose
 * estimated output is near a whole number of target Parquet files; with de-duplication a partition with
 * files from several groups is one dedupe-merge, so every version of a record meets. The
 * lake's one schema is computed from the staging files' footers and written beside the plan, so every
 * compaction group writes the same columns and types (a lake readable as one table). With de-duplication,
 * a record whose versions fall in different partitions is refused: compaction only meets versions within
 * a partition, so an older version would stay in the lake.
 */
import pl from "nodejs-polars";
import pLimit from "p-limit";
import { SnaplakeError } from "../errors.js";
import { concatHarmonized, lakeSchemaOf } from "../frames/harmonize.js";
import { footerColumnTypes, readParquetFooter } from "../frames/parquet.js";
import type { Locations } from "../models/locations.js";
import {
  hasLayout,
  type LakeLayout,
  type LakeSchema,
  type PartitionFileGroup,
  readJson,
  type StagingFile,
  stagingLayoutOf,
  stagingManifestSchema,
  summarizeFiles,
  writeJson,
} from "../models/manifests.js";
import { packBalanced } from "../models/pack.js";
import type { Storage } from "../storage/types.js";
import { baseName } from "../storage/uri.js";
import { type BarrierResult, barrierOf, type Task, type TaskTracker } from "../tracker/types.js";
import { type PartitionGroupTaskInput, Step, taskInput, taskOutput } from "./catalogue.js";
import { MissingColumnError } from "./step-2-3-compact-partition-group.js";

export class StageBarrierError extends SnaplakeError {
  readonly barrier: BarrierResult;
  constructor(step: string, barrier: BarrierResult) {
    const shown = barrier.missing
      .slice(0, 10)
      .map((t) => `${t.taskId} (${t.status}${t.errors.at(-1) ? `: ${t.errors.at(-1)!.message}` : ""})`)
      .join("; ");
    const more = barrier.missing.length > 10 ? `; and ${barrier.missing.length - 10} more` : "";
    super(
      "STAGE_INCOMPLETE",
      barrier.total === 0
        ? `Step ${step} has no tasks yet: run it before planning the next stage`
        : `Step ${step} is not complete: ${barrier.missing.length} of ${barrier.total} tasks not succeeded: ${shown}${more}. Fix them and \`snaplake retry\`, or force the next stage (\`--force\`): the lake is then built without their rows and validation fails until they succeed (compaction is planned again once they do).`,
    );
    this.barrier = barrier;
  }
}

export class DuplicateStagingFileError extends SnaplakeError {
  constructor(uri: string, groups: readonly string[]) {
    super(
      "DUPLICATE_STAGING_FILE",
      `Staging file ${uri} is named more than once (staging manifests of groups ${[...new Set(groups)].join(", ")}): compacting it would count its rows twice. Those manifests were edited or written by an older snaplake: start over with a new projectId.`,
    );
  }
}

/**
 * Every task of `step`, in one consistent read; `StageBarrierError` unless all of them succeeded. (Not the
 * status index: it may not show yet the tasks that succeeded last, whose staging files would then never
 * be compacted.)
 */
export async function readCompleteStage(
  tracker: TaskTracker,
  projectId: string,
  step: string,
): Promise<Task[]> {
  const tasks = await tracker.list(projectId, step);
  const barrier = barrierOf(tasks);
  if (!barrier.complete) throw new StageBarrierError(step, barrier);
  return tasks;
}

export class RecordInSeveralPartitionsError extends SnaplakeError {
  constructor(
    idColumn: string,
    examples: ReadonlyArray<{ id: unknown; partitions: string[] }>,
    total: number,
  ) {
    const shown = examples.map((e) => `${String(e.id)} in ${e.partitions.join(" and ")}`).join("; ");
    super(
      "RECORD_IN_SEVERAL_PARTITIONS",
      `${total} record id(s) of "${idColumn}" have versions in more than one partition (${shown}${total > examples.length ? "; ..." : ""}). De-duplication keeps the latest version within a partition, so older versions would stay in the lake: partition by columns that never change between a record's versions (e.g. its creation date), or leave recordIdColumn unset.`,
    );
  }
}

/**
 * Throws `RecordInSeveralPartitionsError` when one record id has rows in two partitions. Reads the id
 * column of every staging file (only that column is decoded).
 */
export async function checkRecordsStayInOnePartition(
  storage: Storage,
  files: readonly StagingFile[],
  idColumn: string,
): Promise<void> {
  if (new Set(files.map((f) => f.partition)).size < 2) return;
  const limit = pLimit(8);
  const frames = await Promise.all(
    files.map((file) =>
      limit(async () => {
        const bytes = await storage.get(file.uri);
        const columns = pl.readParquet(bytes, { nRows: 0 }).columns;
        if (!columns.includes(idColumn)) throw new MissingColumnError("recordIdColumn", idColumn, columns);
        const ids = pl
          .readParquet(bytes, { columns: [idColumn] })
          .select(pl.col(idColumn).alias("id"), pl.lit(file.partition).alias("partition"));
        return { frame: ids, source: file.uri };
      }),
    ),
  );
  // Harmonised: the id may be an Int32 in one file and an Int64 in another.
  const spread = concatHarmonized(frames)
    .filter(pl.col("id").isNotNull())
    .unique()
    .groupBy("id")
    .agg(pl.col("partition").count().alias("count"), pl.col("partition").sort().alias("partitions"))
    .filter(pl.col("count").gt(1))
    .sort("id");
  if (spread.height === 0) return;
  const examples = spread
    .head(5)
    .toRecords()
    .map((row) => ({ id: row.id, partitions: row.partitions as unknown as string[] }));
  throw new RecordInSeveralPartitionsError(idColumn, examples, spread.height);
}

/** Each staging file's columns and types, from its footer (footers only, never the data), in URI order. */
async function stagingFooterColumns(
  storage: Storage,
  files: readonly StagingFile[],
): Promise<Array<{ source: string; columns: Array<[string, string]> }>> {
  const limit = pLimit(16);
  const sorted = [...files].sort((a, b) => (a.uri < b.uri ? -1 : 1));
  return Promise.all(
    sorted.map((file) =>
      limit(async () => ({
        source: file.uri,
        columns: footerColumnTypes(await readParquetFooter(storage, file.uri, file.size)),
      })),
    ),
  );
}

/**
 * The lake's schema from every staging file's footer, widened safely across all of them;
 * `SchemaConflictError` names the column, the types and the files when no type fits them all.
 */
export async function planLakeSchema(storage: Storage, files: readonly StagingFile[]): Promise<LakeSchema> {
  return { kind: "lake-schema", columns: lakeSchemaOf(await stagingFooterColumns(storage, files)) };
}

/** Files whose columns are the lake schema's, in its order and types: they may become lake files as they are. */
function filesWithLakeSchema(
  footers: ReadonlyArray<{ source: string; columns: ReadonlyArray<readonly [string, string]> }>,
  schema: LakeSchema,
): Set<string> {
  const expected = schema.columns.map((c) => `${c.name}\u0000${c.type}`).join("\u0001");
  return new Set(
    footers
      .filter((f) => f.columns.map(([name, type]) => `${name}\u0000${type}`).join("\u0001") === expected)
      .map((f) => f.source),
  );
}

/** A staging file up to this many times the target size may be promoted; a larger one is split. */
const PROMOTE_MAX_TARGETS = 2;
/** A file from this share of the target size up is "near the target": promoted even with neighbours. */
const PROMOTE_MIN_TARGET_SHARE = 0.5;

/**
 * The pure part: which staging files are compacted together, and how. Deterministic for the same inputs.
 * Per partition:
 * - with de-duplication and files from several groups, one dedupe-merge of them all (every version of a
 *   record meets);
 * - else a file that `promotable` accepts (in the lake's form and schema) and that needs no merge is
 *   promoted (copied as it is): alone in its partition, near the target size, or left alone by the packing;
 * - the rest are packed into merges of about `groupSize`.
 */
export function planPartitionFileGroups(
  files: readonly StagingFile[],
  options: {
    groupSize: number;
    dedupe: boolean;
    /** The lake's target file size; with `promotable`, decides which files need no merge. */
    targetFileSize?: number;
    /** Whether a file is in the lake's form and schema; without it nothing is promoted. */
    promotable?: (file: StagingFile) => boolean;
  },
): PartitionFileGroup[] {
  const byPartition = new Map<string, StagingFile[]>();
  for (const file of files) {
    const partitionFiles = byPartition.get(file.partition);
    if (partitionFiles) partitionFiles.push(file);
    else byPartition.set(file.partition, [file]);
  }
  const target = options.targetFileSize ?? options.groupSize;
  const promotable = (file: StagingFile) =>
    options.promotable !== undefined && file.size <= PROMOTE_MAX_TARGETS * target && options.promotable(file);
  const groups: PartitionFileGroup[] = [];
  const add = (partition: string, action: PartitionFileGroup["action"], group: StagingFile[]) => {
    const { fingerprint, size, nRecord } = summarizeFiles(group);
    // Staging files always know their row count, so the total is never null.
    groups.push({
      kind: "partition-file-group",
      fingerprint,
      partition,
      action,
      estimatedBytes: size,
      nRecord: nRecord ?? 0,
      files: group,
    });
  };
  for (const partition of [...byPartition.keys()].sort()) {
    const partitionFiles = byPartition.get(partition)!.sort((a, b) => (a.uri < b.uri ? -1 : 1));
    if (partitionFiles.length === 1 && promotable(partitionFiles[0]!)) {
      add(partition, "promote", partitionFiles);
      continue;
    }
    if (options.dedupe) {
      add(partition, "dedupe-merge", partitionFiles);
      continue;
    }
    const near = partitionFiles.filter((f) => promotable(f) && f.size >= PROMOTE_MIN_TARGET_SHARE * target);
    for (const file of near) add(partition, "promote", [file]);
    const rest = partitionFiles.filter((f) => !near.includes(f));
    for (const group of packBalanced(
      rest,
      options.groupSize,
      (f) => f.size,
      (f) => f.uri,
    )) {
      add(partition, group.length === 1 && promotable(group[0]!) ? "promote" : "merge", group);
    }
  }
  return groups;
}

export async function planStagingToDatalake(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  targetParquetFileSize: number;
  targetFileGroupSize: number;
  dedupe: boolean;
  /** With de-duplication: refuse a record whose versions are in more than one partition. */
  recordIdColumn?: string;
  /** The lake's form: staging files step 1.3 wrote in it (and in the lake schema) may be promoted. */
  layout?: LakeLayout;
  force?: boolean;
  /** The step-1.3 tasks, when the caller has already read them with `readCompleteStage`. */
  snapshotTasks?: readonly Task[];
  maxAttempts?: number;
}): Promise<{
  partitions: number;
  groups: number;
  tasksCreated: number;
  tasksExisting: number;
  stagingManifests: number;
  /** Planned while some step-1.3 tasks had not succeeded (forced): planned again once more of them do. */
  partial: boolean;
  supersededGroups: number;
}> {
  const { storage, tracker, projectId, locations } = input;
  const tasks =
    input.snapshotTasks ??
    (input.force
      ? await tracker.list(projectId, Step.snapshotToStaging)
      : await readCompleteStage(tracker, projectId, Step.snapshotToStaging));
  const done = tasks.filter((task) => task.status === "succeeded");
  const limit = pLimit(16);
  const manifests = await Promise.all(
    done.map((task) =>
      limit(() =>
        readJson(storage, taskOutput(Step.snapshotToStaging, task).stagingManifestUri, stagingManifestSchema),
      ),
    ),
  );
  const owners = new Map<string, string>();
  for (const manifest of manifests) {
    for (const file of manifest.files) {
      const owner = owners.get(file.uri);
      if (owner !== undefined) throw new DuplicateStagingFileError(file.uri, [owner, manifest.snapshotGroup]);
      owners.set(file.uri, manifest.snapshotGroup);
    }
  }
  const files = manifests.flatMap((m) => m.files);
  // Before any group is planned: a conflict then fails the plan, not one compaction in the middle.
  const footers = await stagingFooterColumns(storage, files);
  const lakeSchema: LakeSchema = { kind: "lake-schema", columns: lakeSchemaOf(footers) };
  // The same widening for the partition keys, across the groups that recorded their types.
  const partitionTypes = manifests.flatMap((m) =>
    m.partitionTypes
      ? [{ source: `snapshot group ${m.snapshotGroup}`, columns: Object.entries(m.partitionTypes) }]
      : [],
  );
  if (partitionTypes.length > 0) lakeSchema.partitionColumns = lakeSchemaOf(partitionTypes);
  await writeJson(storage, locations.lakeSchema, lakeSchema);
  if (input.recordIdColumn !== undefined)
    await checkRecordsStayInOnePartition(storage, files, input.recordIdColumn);
  const inLakeSchema = filesWithLakeSchema(footers, lakeSchema);
  const layout = input.layout ? stagingLayoutOf(input.layout) : undefined;
  const groups = planPartitionFileGroups(files, {
    // A group big enough to fill at least one target file, small enough to hold in memory.
    groupSize: Math.max(input.targetParquetFileSize, input.targetFileGroupSize),
    dedupe: input.dedupe,
    targetFileSize: input.targetParquetFileSize,
    ...(layout ? { promotable: (f: StagingFile) => hasLayout(f, layout) && inLakeSchema.has(f.uri) } : {}),
  });
  await Promise.all(
    groups.map((g) => limit(() => writeJson(storage, locations.partitionFileGroup(g.fingerprint), g))),
  );
  const specs = groups.map((g) => ({
    taskId: g.fingerprint,
    input: {
      groupUri: locations.partitionFileGroup(g.fingerprint),
      fingerprint: g.fingerprint,
      partition: g.partition,
      files: g.files.length,
      estimatedBytes: g.estimatedBytes,
    } satisfies PartitionGroupTaskInput,
  }));
  const superseded = await removeSupersededGroups({
    storage,
    tracker,
    projectId,
    locations,
    planned: new Set(groups.map((g) => g.fingerprint)),
  });
  const { created, existing } = await tracker.createTasks(projectId, Step.compact, specs, {
    ...(input.maxAttempts ? { maxAttempts: input.maxAttempts } : {}),
  });
  return {
    partitions: new Set(groups.map((g) => g.partition)).size,
    groups: groups.length,
    tasksCreated: created,
    tasksExisting: existing,
    stagingManifests: manifests.length,
    partial: done.length < tasks.length,
    supersededGroups: superseded,
  };
}

/**
 * A plan made again (after a forced plan, once more snapshot groups succeeded) may group a partition's
 * staging files differently. The compaction groups it no longer has would leave their rows in the lake
 * twice: they are removed. Returns how many groups went.
 */
async function removeSupersededGroups(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  planned: ReadonlySet<string>;
}): Promise<number> {
  const tasks = await input.tracker.list(input.projectId, Step.compact);
  return removeCompactionGroups({ ...input, tasks: tasks.filter((task) => !input.planned.has(task.taskId)) });
}

/** Removes compaction groups: their lake files, their group manifests and their tasks. Returns how many. */
export async function removeCompactionGroups(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  tasks: readonly Task[];
}): Promise<number> {
  const { storage, tracker, projectId, locations, tasks } = input;
  for (const task of tasks) {
    const { partition, fingerprint } = taskInput(Step.compact, task);
    // Listed rather than taken from the task's output: an unfinished attempt may have written files too.
    const prefix = `part-${fingerprint}-`;
    const files: string[] = [];
    for await (const object of storage.list(locations.lakeFolder(partition)))
      if (baseName(object.uri).startsWith(prefix)) files.push(object.uri);
    await storage.delete(files);
    await storage.delete([locations.partitionFileGroup(fingerprint)]);
  }
  if (tasks.length === 0) return 0;
  return tracker.deleteTasks(
    projectId,
    Step.compact,
    tasks.map((task) => task.taskId),
  );
}
