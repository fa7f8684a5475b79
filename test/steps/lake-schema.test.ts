/**
 * Issue 20, defect 4: one schema for the whole lake. Groups whose types differ are widened to one type (or
 * refused, naming the column, the types and the files), every lake file is written with it, so the lake
 * reads as one table, and validation fails on a lake file with another schema.
 */
import { fileURLToPath } from "node:url";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { SchemaConflictError } from "../../src/frames/harmonize.js";
import { lakeSchemaSchema, readJson } from "../../src/models/manifests.js";
import { ValidationFailedError } from "../../src/steps/step-3-validate-datalake.js";
import {
  parquetProject,
  readLake,
  type TestContext,
  testContexts,
  writeParquetSnapshot,
} from "../support/orders-project.js";

const localContext = testContexts();

/** One snapshot group per file, partitioned by region. */
const project = (context: TestContext) =>
  parquetProject(context, { partitionKeys: ["region"], targetFileGroupSize: 1, sortBy: ["id"] });

const ms = (iso: string) => new Date(iso);

describe("the lake schema", () => {
  it("widens types that differ between groups, fills missing columns with nulls, and reads as one table", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      pl.DataFrame(
        {
          id: [1, 2],
          region: ["eu", "us"],
          v: [10, 20],
          at: [ms("2024-01-01T00:00:00Z"), ms("2024-01-02T00:00:00Z")],
        },
        { schema: { id: pl.Int64, region: pl.Utf8, v: pl.Int32, at: pl.Datetime("ms") } },
      ),
      pl.DataFrame(
        {
          id: [3, 4],
          region: ["eu", "eu"],
          v: [2 ** 40, null],
          at: [ms("2024-01-03T00:00:00Z"), null],
          note: ["x", null],
        },
        { schema: { id: pl.Int64, region: pl.Utf8, v: pl.Int64, at: pl.Datetime("us"), note: pl.Utf8 } },
      ),
    ]);
    const p = project(context);
    const summary = await p.runAll();
    expect(summary.validation.ok).toBe(true);
    expect(summary.snapshotGroups.succeeded).toBe(2);

    const schema = await readJson(context.storage, p.locations.lakeSchema, lakeSchemaSchema);
    expect(schema.columns).toEqual([
      { name: "id", type: "Int64" },
      { name: "v", type: "Int64" },
      { name: "at", type: "Datetime(us)" },
      { name: "note", type: "String" },
    ]);
    // Every file has it (us-only partition included), so polars reads the lake as one table.
    for (const file of await readLake(context.storage, `${context.root}lake/`)) {
      expect(file.frame.columns, file.uri).toEqual(["id", "v", "at", "note"]);
    }
    const lake = pl
      .scanParquet(fileURLToPath(`${context.root}lake/`), { hivePartitioning: true })
      .collectSync()
      .sort("id");
    expect(
      lake
        .getColumn("v")
        .toArray()
        .map((v) => (v === null ? null : Number(v))),
    ).toEqual([10, 20, 2 ** 40, null]);
    expect(String(lake.getColumn("at").dtype)).toBe(String(pl.Datetime("us")));
    expect(lake.getColumn("note").toArray()).toEqual([null, null, "x", null]);
  });

  it("refuses types no type can hold, naming the column, the types and the files, before compaction", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      pl.DataFrame(
        { id: [1], region: ["eu"], v: [1] },
        { schema: { id: pl.Int64, region: pl.Utf8, v: pl.Int64 } },
      ),
      pl.DataFrame(
        { id: [2], region: ["us"], v: ["one"] },
        { schema: { id: pl.Int64, region: pl.Utf8, v: pl.Utf8 } },
      ),
    ]);
    const p = project(context);
    const error = await p.runAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaConflictError);
    const message = (error as Error).message;
    expect(message).toContain('Column "v"');
    expect(message).toMatch(/Int64 in .*staging\/[^/]+\/datalake\/region=eu\/[0-9a-f]+\.parquet/);
    expect(message).toMatch(/String in .*staging\/[^/]+\/datalake\/region=us\/[0-9a-f]+\.parquet/);
    expect(await readLake(context.storage, `${context.root}lake/`)).toEqual([]);
  });

  it("validation fails naming a lake file whose schema is not the lake's", async () => {
    const context = await localContext();
    await writeParquetSnapshot(context, [
      pl.DataFrame(
        { id: [1, 2, 3], region: ["eu", "us", "us"], v: [1, 2, 3] },
        { schema: { id: pl.Int64, region: pl.Utf8, v: pl.Int64 } },
      ),
    ]);
    const p = project(context);
    expect((await p.runAll()).validation.ok).toBe(true);
    const [file] = (await readLake(context.storage, `${context.root}lake/`)).filter(
      (f) => f.partition === "region=us",
    );
    // Same rows, v as text: the row counts still add up, only the schema check can see it.
    await context.storage.put(
      file!.uri,
      file!.frame.withColumns(pl.col("v").cast(pl.Utf8)).writeParquet({ compression: "zstd" }),
    );
    const error = await p.step3ValidateDatalake().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).result.problems).toEqual([
      `lake file ${file!.uri} does not have the lake schema: v is String, the lake's is Int64`,
    ]);
  });
});
