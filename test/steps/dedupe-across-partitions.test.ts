/**
 * Issue 14, item 4: with recordIdColumn set, every id is in the lake once, across partitions. A record
 * whose versions land in different partitions is refused at step 2.1 (compaction only meets versions
 * within a partition), and validation fails on a duplicate id planted in another partition.
 */
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { RecordInSeveralPartitionsError } from "../../src/steps/step-2-1-plan-staging-to-datalake.js";
import { ValidationFailedError } from "../../src/steps/step-3-validate-datalake.js";
import {
  parquetProject,
  readLake,
  type TestContext,
  testContexts,
  writeParquetSnapshot,
} from "../support/orders-project.js";

const localContext = testContexts();

const orders = (rows: Array<[id: number, status: string, updated: number]>) =>
  pl.DataFrame(
    {
      id: rows.map((r) => r[0]),
      status: rows.map((r) => r[1]),
      updated: rows.map((r) => new Date(Date.UTC(2024, 0, r[2]))),
    },
    { schema: { id: pl.Int64, status: pl.Utf8, updated: pl.Datetime("ms") } },
  );

const project = (context: TestContext) =>
  parquetProject(context, {
    partitionKeys: ["status"],
    recordIdColumn: "id",
    updateTimeColumn: "updated",
    targetFileGroupSize: 1, // one group per file: the versions meet only in step 2.1
  });

describe("de-duplication across partitions", () => {
  it("refuses records whose partition changes between versions, naming the ids and partitions", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      orders([
        [1, "new", 1],
        [2, "new", 1],
      ]),
      orders([
        [1, "shipped", 2], // order 1 moved on: its stale "new" version would stay in the lake
        [3, "shipped", 2],
      ]),
    ]);
    const error = await project(context)
      .runAll()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordInSeveralPartitionsError);
    expect((error as Error).message).toContain(
      '1 record id(s) of "id" have versions in more than one partition (1 in status=new and status=shipped)',
    );
    expect(await readLake(context.storage, `${context.root}lake/`)).toEqual([]);
  });

  it("validation fails on a duplicate id planted in another partition", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      orders([
        [1, "new", 1],
        [2, "new", 1],
        [1, "new", 3],
      ]),
      orders([
        [3, "shipped", 2],
        [4, "shipped", 2],
      ]),
    ]);
    const p = project(context);
    const summary = await p.runAll();
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.lake.rows).toBe(4);

    // Order 4 becomes a second order 1: the row counts still add up, only the id check can see it.
    const [shipped] = (await readLake(context.storage, `${context.root}lake/`)).filter(
      (f) => f.partition === "status=shipped",
    );
    const planted = shipped!.frame.withColumns(
      pl.when(pl.col("id").eq(4)).then(pl.lit(1)).otherwise(pl.col("id")).cast(pl.Int64).alias("id"),
    );
    await context.storage.put(shipped!.uri, planted.writeParquet({ compression: "zstd" }));
    const error = await p.step3ValidateDatalake().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    const problems = (error as ValidationFailedError).result.problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^record id 1 \("id"\) is in the lake 2 times: .*status=new\/part-.*\.parquet, .*status=shipped\/part-.*\.parquet$/,
    );
  });
});
