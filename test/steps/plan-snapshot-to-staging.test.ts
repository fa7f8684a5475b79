import { describe, expect, inject, it } from "vitest";
import { Locations } from "../../src/models/locations.js";
import { type DataFile, summarizeFiles } from "../../src/models/manifests.js";
import { Step } from "../../src/steps/catalogue.js";
import {
  PlanChangedError,
  planSnapshotToStaging,
} from "../../src/steps/step-1-1-plan-snapshot-to-staging.js";
import { createStorage } from "../../src/storage/create.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { testDynamoClient, uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const MB = 1024 * 1024;

function snapshot(count: number, size = 30 * MB) {
  const files: DataFile[] = Array.from({ length: count }, (_, i) => ({
    uri: `s3://bucket/snap/part-${String(i).padStart(3, "0")}.parquet`,
    etag: `etag-${i}`,
    size,
    nRecord: 1000,
  }));
  return {
    summaryUri: "s3://bucket/m.json",
    dataUri: "s3://bucket/m.parquet",
    files,
    details: {},
    ...summarizeFiles(files),
  };
}

describe("planSnapshotToStaging against an earlier plan (dynalite, local folder)", () => {
  async function setup() {
    const root = tempDir("snaplake-plan-");
    const tracker = new DynamoTracker({
      client: testDynamoClient(inject("servers").dynalite),
      tableName: uniqueName("plan"),
    });
    await tracker.createTable();
    const base = {
      storage: createStorage({ localRoot: root }),
      tracker,
      projectId: "orders",
      locations: new Locations(`file://${root}/staging/`, `file://${root}/lake/`, "orders"),
      targetFileGroupSize: 100 * MB,
    };
    return { tracker, base };
  }

  it("plans the same groups again without new tasks (a retry of step 1.1)", async () => {
    const { tracker, base } = await setup();
    const first = await planSnapshotToStaging({ ...base, manifest: snapshot(10) });
    expect(first).toMatchObject({ groups: 3, tasksCreated: 3, tasksExisting: 0, gzipExpansion: 1 });
    const again = await planSnapshotToStaging({ ...base, manifest: snapshot(10) });
    expect(again).toMatchObject({ groups: 3, tasksCreated: 0, tasksExisting: 3 });
    expect(await tracker.list("orders", Step.snapshotToStaging)).toHaveLength(3);
  });

  it("refuses a different plan for the same project, naming the earlier groups, and creates nothing", async () => {
    const { tracker, base } = await setup();
    await planSnapshotToStaging({ ...base, manifest: snapshot(10) });
    const before = (await tracker.list("orders", Step.snapshotToStaging)).map((t) => t.taskId).sort();

    // One more file in the snapshot: every group's content, and so its fingerprint, may change.
    const changed = planSnapshotToStaging({ ...base, manifest: snapshot(11) });
    await expect(changed).rejects.toThrow(PlanChangedError);
    await expect(changed).rejects.toThrow(/planned before with \d+ snapshot group\(s\).*new projectId/);
    const error = (await changed.catch((e: unknown) => e)) as PlanChangedError;
    expect(error.staleTaskIds.length).toBeGreaterThan(0);
    for (const id of error.staleTaskIds) expect(before).toContain(id);

    // A different group size is a different plan too.
    await expect(
      planSnapshotToStaging({ ...base, manifest: snapshot(10), targetFileGroupSize: 50 * MB }),
    ).rejects.toThrow(PlanChangedError);
    expect((await tracker.list("orders", Step.snapshotToStaging)).map((t) => t.taskId).sort()).toEqual(
      before,
    );

    // Another project is free to plan anything.
    const other = await planSnapshotToStaging({ ...base, projectId: "orders-v2", manifest: snapshot(11) });
    expect(other.tasksCreated).toBe(other.groups);
  });
});
