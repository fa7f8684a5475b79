/**
 * Partition values that can't become a folder, and staging manifests that name a file twice: refused with
 * typed errors, never written through or counted twice.
 */
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { checkPartitionPathFits, PartitionPathTooLongError } from "../../src/models/hive.js";
import { readJson, stagingManifestSchema, writeJson } from "../../src/models/manifests.js";
import { type SnapshotGroupTaskOutput, Step } from "../../src/steps/catalogue.js";
import { splitByPartition } from "../../src/steps/step-1-3-process-snapshot-group.js";
import {
  DuplicateStagingFileError,
  planStagingToDatalake,
  StageBarrierError,
} from "../../src/steps/step-2-1-plan-staging-to-datalake.js";
import { validateDatalake } from "../../src/steps/step-3-validate-datalake.js";
import {
  parquetProject,
  type TestContext,
  testContexts,
  writeParquetSnapshot,
} from "../support/orders-project.js";

const localContext = testContexts();

const project = (context: TestContext, targetFileGroupSize = 100_000_000) =>
  parquetProject(context, { partitionKeys: ["region"], targetFileGroupSize });

const regions = (ids: number[], values: Array<string | null>) =>
  pl.DataFrame({ id: ids, region: values }, { schema: { id: pl.Int64, region: pl.Utf8 } });

describe("partition values too long for a folder name or an S3 key", () => {
  it("fails the group with an error naming the column, before anything is written", async () => {
    const context = await localContext();
    const long = "é".repeat(130); // 260 bytes in UTF-8
    await writeParquetSnapshot(context, [regions([1, 2], ["eu", long])]);
    const p = project(context);
    const failed = await p.runAll().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(StageBarrierError);
    const [failure] = await p.failures();
    expect(failure!.errors.at(-1)!.message).toMatch(/Partition column "region" has a value .* 26\d bytes/);
    expect(failure!.errors.at(-1)!.message).not.toContain("ENAMETOOLONG");
    const staged: string[] = [];
    for await (const object of context.storage.list(`${context.root}staging/datalake/`))
      staged.push(object.uri);
    expect(staged).toEqual([]);

    // Just under the limit is a legal folder name.
    const fits = "é".repeat(125); // "region=" + 250 bytes = 257 > 255; 124 gives 255
    expect(() => splitByPartition(regions([1], [fits]), ["region"])).toThrow(PartitionPathTooLongError);
    expect(splitByPartition(regions([1], ["é".repeat(124)]), ["region"])).toHaveLength(1);
  });

  it("refuses a partition path that makes an S3 key longer than 1024 bytes", () => {
    // Four folder names of 252 bytes each: each a legal file name, 1008 bytes together.
    const values = { a: "x".repeat(250), b: "y".repeat(250), c: "z".repeat(250), d: "w".repeat(250) };
    const keys = Object.keys(values);
    const path = keys.map((k) => `${k}=${values[k as keyof typeof values]}`).join("/");
    expect(() => checkPartitionPathFits(keys, values, [`s3://bucket/lake/${path}/part-0.parquet`])).toThrow(
      /over S3's 1024-byte limit/,
    );
    // The same folders are fine on a local disk, where only each name is limited.
    expect(() => checkPartitionPathFits(keys, values, [`file:///lake/${path}/part-0.parquet`])).not.toThrow();
  });
});

describe("staging files named more than once", () => {
  it("validation counts each staging file once and fails naming it; step 2.1 refuses to plan it", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      regions([1, 2, 3], ["eu", "us", null]),
      regions([4, 5], ["eu", ""]),
    ]);
    const p = project(context, 1); // one group per file
    const summary = await p.runAll();
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.staging.files).toBe(5);

    const tasks = await p.tracker.list(p.projectId, Step.snapshotToStaging);
    expect(tasks).toHaveLength(2);
    const [first, second] = tasks.map((t) => (t.output as SnapshotGroupTaskOutput).stagingManifestUri);
    const manifest = await p.manifest();
    const validate = () =>
      validateDatalake({
        storage: context.storage,
        tracker: p.tracker,
        projectId: p.projectId,
        locations: p.locations,
        manifest,
      });

    // One manifest naming its file twice.
    const original = await readJson(context.storage, first!, stagingManifestSchema);
    await writeJson(context.storage, first!, { ...original, files: [...original.files, original.files[0]] });
    let result = await validate();
    expect(result.ok).toBe(false);
    expect(result.staging.files).toBe(5);
    expect(result.problems.join("\n")).toContain(
      `staging file ${original.files[0]!.uri} is named twice in the staging manifest of group ${original.snapshotGroup}`,
    );

    // Two manifests naming one file.
    await writeJson(context.storage, first!, original);
    const other = await readJson(context.storage, second!, stagingManifestSchema);
    await writeJson(context.storage, second!, { ...other, files: [...other.files, original.files[0]] });
    result = await validate();
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toContain(
      `staging file ${original.files[0]!.uri} is named by the staging manifests of groups`,
    );
    const planned = await planStagingToDatalake({
      storage: context.storage,
      tracker: p.tracker,
      projectId: p.projectId,
      locations: p.locations,
      targetParquetFileSize: 1_000_000,
      targetFileGroupSize: 1_000_000,
      dedupe: false,
    }).catch((error: unknown) => error);
    expect(planned).toBeInstanceOf(DuplicateStagingFileError);
    expect((planned as Error).message).toContain(original.files[0]!.uri);
  });
});
