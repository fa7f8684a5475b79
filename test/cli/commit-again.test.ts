/**
 * `snaplake step 4` asked again after it succeeded: it answers with what its commit wrote then and at which
 * version (Iceberg: the sequence number and snapshot), said to be an earlier commit, and writes nothing.
 */
import { describe, expect, it } from "vitest";
import { lakeCli, localLake, ordersRun, runUntilValidated } from "../support/lake-e2e.js";

describe("step 4 after a completed step 4", () => {
  it("reports the earlier commit's version and files, not a new commit", async () => {
    const lake = await localLake();
    const run = await ordersRun(lake, "night", 7, { format: "iceberg", mode: "append" });
    await runUntilValidated(lake, run.file);

    const first = await lakeCli(lake, ["step", "4", "--config", run.file, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const committed = JSON.parse(first.stdout);
    expect(committed).toMatchObject({ format: "iceberg", version: 1, committed: true, rowsAdded: run.rows });
    expect(committed.earlier).toBeUndefined();

    const again = await lakeCli(lake, ["step", "4", "--config", run.file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(
      `commit: committed by an earlier step 4 at Iceberg sequence number 1 (snapshot ${committed.snapshotId}): ` +
        `+${committed.filesAdded} files (${run.rows} rows), -0 files (0 rows); nothing written now`,
    );
    const json = await lakeCli(lake, ["step", "4", "--config", run.file, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ ...committed, earlier: true });

    const history = await lakeCli(lake, ["table", "history", "lake", "--json"]);
    expect(JSON.parse(history.stdout)).toHaveLength(1);
  });
});
