/**
 * Step 1.3 writes each staging file in the lake's form (issue 17): sorted by sortBy (a descending key,
 * nulls last, ties in input order), with the lake's codec and row-group size, and the latest row per record
 * when de-duplication is configured. The order is checked row by row in the test, and the codec and row
 * groups from the footer as hyparquet reads it.
 */
import { parquetMetadata } from "hyparquet";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { readJson, stagingManifestSchema } from "../../src/models/manifests.js";
import { type SnapshotGroupTaskOutput, Step } from "../../src/steps/catalogue.js";
import { parquetProject, testContexts, writeParquetSnapshot } from "../support/orders-project.js";

const createContext = testContexts();

/** `rows` versions of orders in two regions: ids repeat (versions), times repeat and some are null. */
function versions(firstRow: number, rows: number): pl.DataFrame {
  const index = Array.from({ length: rows }, (_, i) => firstRow + i);
  return pl.DataFrame(
    {
      id: index.map((i) => (i * 7919) % 2000),
      region: index.map((i) => (i % 3 === 0 ? "us" : "eu")),
      at: index.map((i) =>
        i % 11 === 0 ? null : new Date(Date.UTC(2024, 0, 1) + ((i * 104729) % 700) * 60_000),
      ),
      row: index,
    },
    { schema: { id: pl.Int64, region: pl.Utf8, at: pl.Datetime("ms"), row: pl.Int64 } },
  );
}

type Row = { id: number; at: Date | null; row: number };

/** -1, 0 or 1 for two rows by `at` descending (nulls last), then `id` ascending. */
function compareLakeOrder(a: Row, b: Row): number {
  if (a.at === null || b.at === null) return a.at === b.at ? a.id - b.id : a.at === null ? 1 : -1;
  if (a.at.getTime() !== b.at.getTime()) return b.at.getTime() - a.at.getTime();
  return a.id - b.id;
}

async function stagingFiles(
  project: ReturnType<typeof parquetProject>,
  storage: import("../../src/storage/types.js").Storage,
) {
  const tasks = await project.tracker.list(project.projectId, Step.snapshotToStaging);
  const manifests = await Promise.all(
    tasks.map((task) =>
      readJson(storage, (task.output as SnapshotGroupTaskOutput).stagingManifestUri, stagingManifestSchema),
    ),
  );
  return manifests.flatMap((manifest) => manifest.files);
}

describe("staging files in the lake's form", () => {
  it.each([false, true])(
    "are sorted by sortBy, in the lake's codec and row groups (de-duplication: %s)",
    async (dedupe) => {
      const context = await createContext();
      const frames = [versions(0, 6000), versions(6000, 6000)];
      await writeParquetSnapshot(context, frames);
      const project = parquetProject(context, {
        partitionKeys: ["region"],
        targetFileGroupSize: 1, // one group per snapshot file: a record's versions span groups too
        sortBy: [{ column: "at", descending: true }, "id"],
        rowGroupSize: 1000,
        compression: "zstd",
        ...(dedupe ? { recordIdColumn: "id", updateTimeColumn: "row" } : {}),
      });
      await project.step1_1PlanSnapshotToStaging();
      await project.drain(Step.snapshotToStaging);

      const files = await stagingFiles(project, context.storage);
      expect(files.map((f) => f.partition).sort()).toEqual([
        "region=eu",
        "region=eu",
        "region=us",
        "region=us",
      ]);
      for (const file of files) {
        const bytes = await context.storage.get(file.uri);
        const rows = pl.readParquet(bytes).toRecords() as unknown as Row[];
        expect(rows.length).toBe(file.nRecord);
        for (let i = 1; i < rows.length; i++) {
          const order = compareLakeOrder(rows[i - 1]!, rows[i]!);
          // Ties on every sort key keep their input order (the snapshot's row number grows within a file).
          const inOrder = order < 0 || (order === 0 && rows[i - 1]!.row < rows[i]!.row);
          if (!inOrder) expect.fail(`${file.uri}: row ${i} is before row ${i - 1} in sortBy order`);
        }

        const metadata = parquetMetadata(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
        );
        const groupRows = metadata.row_groups.map((group) => Number(group.num_rows));
        expect(groupRows.slice(0, -1).every((n) => n === 1000)).toBe(true);
        expect(groupRows.at(-1)).toBeLessThanOrEqual(1000);
        const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
        expect([...codecs]).toEqual(["ZSTD"]);

        // The source rows of this group and partition: all of them, or the latest version of each id.
        const source = frames[rows.length > 0 && rows[0]!.row >= 6000 ? 1 : 0]!.filter(
          pl.col("region").eq(pl.lit(file.partition.split("=")[1]!)),
        ).toRecords() as unknown as Row[];
        const latest = new Map<number, Row>();
        for (const row of source)
          if (!latest.has(row.id) || latest.get(row.id)!.row < row.row) latest.set(row.id, row);
        const expected = dedupe ? [...latest.values()] : source;
        expect(rows.map((r) => r.row).sort((a, b) => a - b)).toEqual(
          expected.map((r) => r.row).sort((a, b) => a - b),
        );
      }
    },
    60_000,
  );
});
