/**
 * Issue 18's "Done when" for Iceberg tables, end to end through the `snaplake` CLI (in this process; the
 * built binary for the racing commits; tracker on dynalite), each table read back by icebird (hyparam), a
 * reader that is not ours:
 * - three Snowplow batches appended by three projects: after each, the table holds exactly the events so
 *   far (by event_id), one snapshot per batch naming its projectId; batch 3's new columns get new field
 *   ids; batch 2 again adds no snapshot;
 * - two overwriting snapshots: the latest holds the second night only, time travel to the first (its
 *   metadata file, and `table files --version 1`) holds the first; `query` reads the current snapshot;
 * - two projects committing at the same moment, on a local folder and on s3rver + the DynamoDB commit
 *   table: both land, sequence numbers 1 and 2;
 * - optimize and vacuum through the CLI: the same rows in fewer files, the replaced files deleted, and
 *   step 4 reset and run again for a project whose snapshot vacuum expired still commits nothing.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { icebergMetadata, icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Lake,
  lakeCli,
  localLake,
  ordersRun,
  runAll,
  s3Lake,
  threeSnowplowBatches,
  twoConcurrentCommits,
} from "../support/lake-e2e.js";
import { installFileFetch, installS3Fetch } from "../table/iceberg/file-fetch.js";

// biome-ignore lint/suspicious/noExplicitAny: icebird's metadata and rows, checked by the assertions
type Loose = any;

const APPEND = { format: "iceberg", mode: "append" } as const;
const OVERWRITE = { format: "iceberg", mode: "overwrite" } as const;

let restoreFetch: Array<() => void> = [];
beforeAll(() => {
  restoreFetch = [installFileFetch(), installS3Fetch(inject("servers").s3)];
});
afterAll(() => {
  for (const restore of restoreFetch.reverse()) restore();
});

const tableUrl = (lake: Lake) =>
  "bucket" in lake
    ? `s3://${(lake as { bucket: string }).bucket}/lake`
    : pathToFileURL(join(lake.dir, "lake")).href;

/** The rows icebird reads at the current snapshot, or at a metadata file (time travel). */
const readRows = (lake: Lake, metadataFileName?: string): Promise<Loose[]> =>
  icebergRead({ tableUrl: tableUrl(lake), ...(metadataFileName ? { metadataFileName } : {}) });

const sorted = (values: string[]) => [...values].sort();

describe("Iceberg tables across runs, through the CLI", () => {
  it("three Snowplow batches append: icebird sees each snapshot with exactly the events so far; batch 3's columns get new ids; batch 2 again adds nothing", async () => {
    const lake = await localLake();
    const batches = await threeSnowplowBatches(lake, APPEND);
    const expected: string[] = [];
    for (const [i, batch] of batches.entries()) {
      const summary = await runAll(lake, batch.file);
      expect(summary.commit).toMatchObject({ format: "iceberg", version: i + 1, committed: true });
      expected.push(...batch.eventIds);
      expect(sorted((await readRows(lake)).map((row) => row.event_id))).toEqual(sorted(expected));
    }
    // Each metadata version is one snapshot; time travel to each reads that many events.
    for (const [i, count] of [
      batches[0]!.eventIds.length,
      batches[0]!.eventIds.length + batches[1]!.eventIds.length,
    ].entries()) {
      expect(await readRows(lake, `v${i + 1}.metadata.json`)).toHaveLength(count);
    }

    const metadata: Loose = await icebergMetadata({ tableUrl: tableUrl(lake) });
    expect(metadata["format-version"]).toBe(2);
    expect(metadata.snapshots.map((s: Loose) => s.summary["snaplake.project-id"])).toEqual(
      batches.map((b) => b.projectId),
    );
    expect(metadata["partition-specs"][0].fields).toMatchObject([
      { name: "event_date", transform: "identity" },
    ]);
    const schemaOf = (id: number) => metadata.schemas.find((s: Loose) => s["schema-id"] === id);
    const before = schemaOf(metadata.snapshots[1]["schema-id"]);
    const after = schemaOf(metadata["current-schema-id"]);
    const oldIds = new Map(before.fields.map((f: Loose) => [f.name, f.id]));
    const added = after.fields.filter((f: Loose) => !oldIds.has(f.name));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((f: Loose) => /^(contexts|unstruct_event)_/.test(f.name) && !f.required)).toBe(true);
    const maxOldId = Math.max(...(before.fields.map((f: Loose) => f.id) as number[]));
    expect(added.every((f: Loose) => f.id > maxOldId)).toBe(true);
    for (const field of after.fields.filter((f: Loose) => oldIds.has(f.name)))
      expect(field.id).toBe(oldIds.get(field.name));

    // Batch 2 again, end to end: the table already holds its snapshot.
    const again = await runAll(lake, batches[1]!.file);
    expect(again.commit).toMatchObject({ format: "iceberg", version: 2 });
    expect(existsSync(join(lake.dir, "lake", "metadata", "v4.metadata.json"))).toBe(false);
    const history = await lakeCli(lake, ["table", "history", "lake", "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout).map((v: Loose) => [v.version, v.operation, v.projectId])).toEqual(
      batches.map((b, i) => [i + 1, "append", b.projectId]),
    );
  }, 180_000);

  it("two overwriting snapshots: the latest holds the second night only; time travel to the first holds the first; query reads the latest", async () => {
    const lake = await localLake();
    const night1 = await ordersRun(lake, "night1", 21, OVERWRITE);
    const night2 = await ordersRun(lake, "night2", 22, OVERWRITE);
    expect((await runAll(lake, night1.file)).commit).toMatchObject({ version: 1, rowsAdded: night1.rows });
    expect((await runAll(lake, night2.file)).commit).toMatchObject({
      version: 2,
      rowsAdded: night2.rows,
      rowsRemoved: night1.rows,
    });

    expect(await readRows(lake)).toHaveLength(night2.rows);
    expect(await readRows(lake, "v1.metadata.json")).toHaveLength(night1.rows);
    const metadata: Loose = await icebergMetadata({ tableUrl: tableUrl(lake) });
    expect(metadata.snapshots.map((s: Loose) => s.summary.operation)).toEqual(["overwrite", "overwrite"]);

    const first = await lakeCli(lake, ["table", "files", "lake", "--version", "1", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const files = JSON.parse(first.stdout);
    expect(files.version).toBe(1);
    expect(files.files.reduce((sum: number, f: Loose) => sum + f.rows, 0)).toBe(night1.rows);
    const latest = JSON.parse(
      (await lakeCli(lake, ["table", "files", "--config", night2.file, "--json"])).stdout,
    );
    expect(latest.files.reduce((sum: number, f: Loose) => sum + f.rows, 0)).toBe(night2.rows);

    const query = await lakeCli(lake, [
      "query",
      "SELECT count(*) AS n, min(year) AS first FROM lake",
      "--config",
      night2.file,
      "--json",
    ]);
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([{ n: night2.rows, first: expect.any(String) }]);
  }, 120_000);

  for (const [place, makeLake] of [
    ["a local folder", localLake],
    ["s3rver + the DynamoDB commit table", s3Lake],
  ] as const) {
    it(`two processes append at the same moment to ${place}: both snapshots land`, async () => {
      const lake = await makeLake();
      const { runs, versions } = await twoConcurrentCommits(lake, APPEND);
      expect(versions).toEqual([1, 2]);

      const metadata: Loose = await icebergMetadata({ tableUrl: tableUrl(lake) });
      expect(metadata.snapshots.map((s: Loose) => s.summary["snaplake.project-id"]).sort()).toEqual(
        runs.map((r) => r.projectId).sort(),
      );
      expect(await readRows(lake)).toHaveLength(runs[0]!.rows + runs[1]!.rows);
    }, 120_000);
  }

  it("optimize packs the appends' small files in a replace snapshot with the same rows; vacuum deletes the replaced files; a re-run after expiry commits nothing", async () => {
    const lake = await localLake();
    const runs = [];
    for (const seed of [31, 32, 33]) {
      const r = await ordersRun(lake, `small${seed}`, seed, APPEND);
      await runAll(lake, r.file);
      runs.push(r);
    }
    const rows = runs.reduce((sum, r) => sum + r.rows, 0);
    const before = JSON.parse((await lakeCli(lake, ["table", "files", "lake", "--json"])).stdout);

    const optimized = await lakeCli(lake, ["optimize", "--config", runs[0]!.file, "--json"]);
    expect(optimized.code, optimized.stderr).toBe(0);
    const plan = JSON.parse(optimized.stdout).plans[0];
    expect(plan.commit).toMatchObject({ format: "iceberg", version: 4, committed: true });
    const after = JSON.parse((await lakeCli(lake, ["table", "files", "lake", "--json"])).stdout);
    expect(after.files.length).toBeLessThan(before.files.length);
    expect(await readRows(lake)).toHaveLength(rows);
    const metadata: Loose = await icebergMetadata({ tableUrl: tableUrl(lake) });
    expect(metadata.snapshots.at(-1).summary.operation).toBe("replace");

    const vacuumed = await lakeCli(lake, [
      "vacuum",
      "--config",
      runs[0]!.file,
      "--retain",
      "0m",
      "--yes",
      "--json",
    ]);
    expect(vacuumed.code, vacuumed.stderr).toBe(0);
    const result = JSON.parse(vacuumed.stdout);
    expect(result.expiredSnapshots).toHaveLength(3);
    const replaced = before.files
      .map((f: Loose) => f.uri)
      .filter((uri: string) => !after.files.some((f: Loose) => f.uri === uri));
    expect(result.files.filter((uri: string) => uri.endsWith(".parquet")).sort()).toEqual(replaced.sort());
    const left = readdirSync(join(lake.dir, "lake"), { recursive: true }).filter((n) =>
      String(n).endsWith(".parquet"),
    );
    expect(left).toHaveLength(after.files.length);
    expect(await readRows(lake)).toHaveLength(rows);

    // The first run's snapshot is expired; its commit is still known to the table (not only to the
    // tracker: step 4 is reset), so step 4 again adds nothing.
    const refused = await lakeCli(lake, ["reset", "--config", runs[0]!.file, "--from-step", "2.3", "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`"${runs[0]!.projectId}" is committed to the Iceberg table`);
    const reset = await lakeCli(lake, ["reset", "--config", runs[0]!.file, "--from-step", "4", "--yes"]);
    expect(reset.code, reset.stderr).toBe(0);
    const again = await lakeCli(lake, ["step", "4", "--config", runs[0]!.file, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 1, committed: false });
  }, 180_000);
});
