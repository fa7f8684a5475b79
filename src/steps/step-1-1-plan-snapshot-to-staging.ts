/**
 * Step 1.1: pack the snapshot's files into groups of about the target size, write one manifest per group
 * named by its content fingerprint, and create one tracker task per group. Planning the same snapshot again
 * writes the same files and creates no new task.
 */
import pLimit from "p-limit";
import { fingerprintFiles } from "../models/fingerprint.js";
import type { Locations } from "../models/locations.js";
import { type SnapshotFileGroup, type SnapshotManifest, writeJson } from "../models/manifests.js";
import { type SnapshotGroupTaskInput, Step } from "../models/steps.js";
import type { Storage } from "../storage/types.js";
import type { TaskData, TaskTracker } from "../tracker/types.js";
import { packBalanced } from "./pack.js";

/** The pure part: which files go together. Deterministic for the same manifest. */
export function planSnapshotFileGroups(
  manifest: Pick<SnapshotManifest, "files">,
  targetSize: number,
): SnapshotFileGroup[] {
  return packBalanced(
    manifest.files,
    targetSize,
    (f) => f.size,
    (f) => f.uri,
  ).map((files) => {
    let size = 0;
    let nRecord: number | null = 0;
    for (const file of files) {
      size += file.size;
      nRecord = nRecord === null || file.nRecord === null ? null : nRecord + file.nRecord;
    }
    return { kind: "snapshot-file-group", fingerprint: fingerprintFiles(files), size, nRecord, files };
  });
}

export interface PlanResult extends TaskData {
  groups: number;
  tasksCreated: number;
  tasksExisting: number;
}

export async function planSnapshotToStaging(input: {
  storage: Storage;
  tracker: TaskTracker;
  projectId: string;
  locations: Locations;
  manifest: SnapshotManifest;
  targetFileGroupSize: number;
  maxAttempts?: number;
}): Promise<PlanResult> {
  const groups = planSnapshotFileGroups(input.manifest, input.targetFileGroupSize);
  const limit = pLimit(16);
  await Promise.all(
    groups.map((g) =>
      limit(() => writeJson(input.storage, input.locations.snapshotFileGroup(g.fingerprint), g)),
    ),
  );
  const specs = groups.map((g) => ({
    taskId: g.fingerprint,
    input: {
      groupUri: input.locations.snapshotFileGroup(g.fingerprint),
      fingerprint: g.fingerprint,
      files: g.files.length,
      size: g.size,
    } satisfies SnapshotGroupTaskInput,
  }));
  const { created, existing } = await input.tracker.createTasks(
    input.projectId,
    Step.snapshotToStaging,
    specs,
    {
      ...(input.maxAttempts ? { maxAttempts: input.maxAttempts } : {}),
    },
  );
  return { groups: groups.length, tasksCreated: created, tasksExisting: existing };
}
