/**
 * The Iceberg table behind the lake-table seam (what step 4, optimize and vacuum call): commits keyed by
 * projectId, optimize as a `replace` snapshot planned like Delta's, and vacuum expiring snapshots and
 * deleting what no remaining snapshot references. icebird reads the rows back; the re-run after expiry
 * finds the commit by the table property.
 */
import { mkdir, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { icebergRead } from "icebird";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../../src/config.js";
import { rewriteOptimizeGroup } from "../../../src/steps/optimize.js";
import { createStorage } from "../../../src/storage/create.js";
import { openLakeTable } from "../../../src/table/index.js";
import { tempDir } from "../../support/temp-dir.js";
import { installFileFetch } from "./file-fetch.js";

let restoreFetch: () => void;
beforeAll(() => {
  restoreFetch = installFileFetch();
});
afterAll(() => restoreFetch());

const settings = (mode: "append" | "overwrite") =>
  parseProjectConfig({
    projectId: "p",
    snapshot: { uri: "/snapshot/" },
    stagingUri: "/staging/",
    datalakeUri: "/lake/",
    table: { format: "iceberg", mode },
  }).table;

async function writeDay(table: string, day: string, name: string, ids: number[]): Promise<string> {
  const path = join(table, `day=${day}`, `${name}.parquet`);
  await mkdir(dirname(path), { recursive: true });
  pl.DataFrame({ id: pl.Series("id", ids, pl.Int64) }).writeParquet(path);
  return pathToFileURL(path).href;
}

describe("IcebergLakeTable", () => {
  it("commits once per projectId; optimize replaces small files; vacuum expires old snapshots, deletes their files, and a re-run still commits nothing", async () => {
    const root = tempDir("snaplake-iceberg-seam-");
    const table = join(root, "lake");
    const storage = createStorage({ localRoot: root });
    const lake = openLakeTable(settings("append"), storage, pathToFileURL(table).href);
    const run = (projectId: string, files: string[]) =>
      lake.commit({ projectId, files, partitionColumns: ["day"], partitionTypes: { day: "date" } });

    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const batch = [i * 10, i * 10 + 1, i * 10 + 2];
      ids.push(...batch);
      const result = await run(`run-${i}`, [await writeDay(table, "2024-06-01", `part-${i}`, batch)]);
      expect(result).toMatchObject({ format: "iceberg", version: i + 1, committed: true, rowsAdded: 3 });
    }
    expect(await run("run-1", [])).toMatchObject({ version: 2, committed: false, filesAdded: 0 });
    expect(await lake.committedVersion("run-2")).toBe(3);
    expect(await lake.committedVersion("never")).toBeNull();

    const plan = await lake.planOptimize({ targetFileSize: 1_000_000 });
    expect(plan).toMatchObject({ format: "iceberg", readVersion: 4, partitionColumns: ["day"] });
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]!.partitionValues).toEqual({ day: "2024-06-01" });
    expect(plan.groups[0]!.inputs).toHaveLength(4);
    const options = { sortBy: [], compression: "zstd" as const, rowGroupSize: 1000 };
    for (const group of plan.groups) await rewriteOptimizeGroup(storage, plan, group, options);
    const optimized = await lake.commitOptimize(plan, "optimizer");
    expect(optimized).toMatchObject({ version: 5, committed: true, filesAdded: 1, filesRemoved: 4 });
    expect((await lake.commitOptimize(plan, "optimizer")).committed).toBe(false);
    const rows = await icebergRead({ tableUrl: pathToFileURL(table).href });
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(ids);

    // Nothing is old enough yet: nothing to delete.
    expect((await lake.vacuum({ retainMs: 3_600_000, dryRun: false })).files).toEqual([]);
    const listed = await lake.vacuum({ retainMs: 0, dryRun: true });
    expect(listed.deleted).toBe(false);
    expect(listed.files.filter((f) => f.endsWith(".parquet")).sort()).toEqual(
      plan.groups[0]!.inputs.map((input) => input.uri).sort(),
    );
    const vacuumed = await lake.vacuum({ retainMs: 0, dryRun: false });
    expect(vacuumed.files).toEqual(listed.files);
    expect((await readdir(join(table, "day=2024-06-01"))).filter((n) => n.endsWith(".parquet"))).toEqual([
      plan.groups[0]!.output.slice(plan.groups[0]!.output.lastIndexOf("/") + 1),
    ]);
    const after = await icebergRead({ tableUrl: pathToFileURL(table).href });
    expect(after.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(ids);

    // run-0's snapshot is gone; the table property still knows its commit.
    expect(await run("run-0", [])).toMatchObject({ version: 1, committed: false });
    expect(await lake.committedVersion("run-0")).toBe(1);
  });

  it("overwrite replaces every file; merge is refused when the table is opened", async () => {
    const root = tempDir("snaplake-iceberg-seam-");
    const table = join(root, "lake");
    const storage = createStorage({ localRoot: root });
    const lake = openLakeTable(settings("overwrite"), storage, pathToFileURL(table).href);
    const run = (projectId: string, files: string[]) =>
      lake.commit({ projectId, files, partitionColumns: ["day"], partitionTypes: { day: "date" } });
    await run("night-1", [await writeDay(table, "2024-06-01", "a", [1, 2])]);
    const second = await run("night-2", [await writeDay(table, "2024-06-02", "b", [3])]);
    expect(second).toMatchObject({ version: 2, filesRemoved: 1, rowsRemoved: 2, rowsAdded: 1 });
    expect(await icebergRead({ tableUrl: pathToFileURL(table).href })).toHaveLength(1);

    expect(() =>
      openLakeTable({ format: "iceberg", mode: "merge" }, storage, pathToFileURL(table).href),
    ).toThrow(/merge" is not built for Iceberg/);
  });
});
