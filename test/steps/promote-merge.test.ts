/**
 * Issue 17: each row is encoded once. Step 1.3 writes staging files in the lake's form; step 2.1 promotes a
 * file that needs no merge (copied to its lake name, never decoded) and merges the small files of a
 * partition; the lake holds the same rows either way and validates, re-runs included.
 */
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { type PartitionFileGroup, partitionFileGroupSchema, readJson } from "../../src/models/manifests.js";
import {
  type PartitionGroupTaskInput,
  type PartitionGroupTaskOutput,
  Step,
} from "../../src/steps/catalogue.js";
import {
  parquetProject,
  readLake,
  type StorageKind,
  testContexts,
  writeParquetSnapshot,
} from "../support/orders-project.js";

const createContext = testContexts();

/** `rows` orders of `region`, ids from `firstId`, times shuffled (so sorting has work to do). */
function orders(region: string, firstId: number, rows: number): pl.DataFrame {
  const ids = Array.from({ length: rows }, (_, i) => firstId + i);
  return pl.DataFrame(
    {
      id: ids,
      region: ids.map(() => region),
      // Many equal times, so the second sort key decides too.
      at: ids.map((id) => new Date(Date.UTC(2024, 0, 1) + ((id * 7919) % 5000) * 60_000)),
      note: ids.map((id) => `note ${(id * 104729) % 99991}`),
    },
    { schema: { id: pl.Int64, region: pl.Utf8, at: pl.Datetime("ms"), note: pl.Utf8 } },
  );
}

const sortKeys = ["at", "id"];

describe.each<StorageKind>(["local", "s3"])("promote and merge on %s storage", (kind) => {
  it("promotes files byte for byte, merges the small ones in sort order, and a mixed partition validates", async () => {
    const context = await createContext(kind);
    const big = orders("eu", 0, 40_000);
    const small = [orders("eu", 100_000, 1500), orders("eu", 200_000, 1500), orders("eu", 300_000, 1500)];
    const alone = orders("us", 400_000, 800);
    const frames = [big, ...small, alone];
    await writeParquetSnapshot(context, frames);
    // The big file's size in the lake's form is about the target: it is promoted; the small ones are not.
    const target = big.drop("region").writeParquet({ compression: "zstd" }).length;
    const project = parquetProject(context, {
      partitionKeys: ["region"],
      targetFileGroupSize: 1, // one snapshot group per file
      targetParquetFileSize: target,
      sortBy: sortKeys,
    });
    const summary = await project.runAll();
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.problems).toEqual([]);

    const tasks = await project.tracker.list(project.projectId, Step.stagingToDatalake);
    const groups: Array<{ group: PartitionFileGroup; output: PartitionGroupTaskOutput }> = await Promise.all(
      tasks.map(async (task) => ({
        group: await readJson(
          context.storage,
          (task.input as PartitionGroupTaskInput).groupUri,
          partitionFileGroupSchema,
        ),
        output: task.output as PartitionGroupTaskOutput,
      })),
    );
    const plan = groups.map(({ group }) => `${group.partition} ${group.action} ${group.files.length}`).sort();
    expect(plan).toEqual(["region=eu merge 3", "region=eu promote 1", "region=us promote 1"]);

    for (const { group, output } of groups) {
      expect(output.lakeFiles.length, group.action).toBe(1);
      const lakeBytes = await context.storage.get(output.lakeFiles[0]!.uri);
      if (group.action === "promote") {
        // Copied, never decoded: the lake file is the staging file.
        const stagingBytes = await context.storage.get(group.files[0]!.uri);
        expect(lakeBytes.equals(stagingBytes)).toBe(true);
      }
      // Every lake file, promoted or merged, is sorted by sortBy.
      const frame = pl.readParquet(lakeBytes);
      expect(frame.height).toBe(group.nRecord);
      expect(frame.frameEqual(frame.sort(sortKeys)), `${group.action} file sorted`).toBe(true);
    }

    // The lake holds exactly the source rows.
    const lakeFiles = await readLake(context.storage, `${context.root}lake/`);
    expect(lakeFiles.map((f) => f.partition).sort()).toEqual(["region=eu", "region=eu", "region=us"]);
    const lake = pl
      .concat(lakeFiles.map((f) => f.frame.withColumns(pl.lit(f.partition.split("=")[1]!).alias("region"))))
      .select("id", "region", "at", "note")
      .sort("id");
    expect(lake.frameEqual(pl.concat(frames).sort("id"))).toBe(true);
    expect(summary.validation.partitions.map((p) => [p.partition, p.lakeFiles, p.lakeRows])).toEqual([
      ["region=eu", 2, 44_500],
      ["region=us", 1, 800],
    ]);

    // Compacting again (every step 2.3 task run anew) gives the same keys and bytes, and still validates.
    const before = new Map(lakeFiles.map((f) => [f.uri, f.etag]));
    await project.tracker.reset(project.projectId, Step.stagingToDatalake, { statuses: ["succeeded"] });
    await project.drain(Step.stagingToDatalake);
    const after = await readLake(context.storage, `${context.root}lake/`);
    expect(new Map(after.map((f) => [f.uri, f.etag]))).toEqual(before);
    expect((await project.step3ValidateDatalake()).ok).toBe(true);
  }, 120_000);
});
