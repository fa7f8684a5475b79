/**
 * Issue 20, defect 1, through the CLI (in this process) on the embedded tracker: "", null and the default-partition
 * literal all land in `region=__HIVE_DEFAULT_PARTITION__`, and every id reaches the lake exactly once.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterEach, describe, expect, it } from "vitest";
import { HIVE_DEFAULT_PARTITION } from "../../src/models/hive.js";
import { snaplake } from "../support/cli.js";
import { uniqueName } from "../support/clients.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function projectDir(lines: string[]): { dir: string; projectId: string } {
  const dir = mkdtempSync(join(tmpdir(), "snaplake-nullpart-"));
  dirs.push(dir);
  mkdirSync(join(dir, "snap"));
  writeFileSync(join(dir, "snap", "a.ndjson"), `${lines.join("\n")}\n`);
  const projectId = uniqueName("regions");
  const config = {
    projectId,
    snapshot: { uri: "./snap/" },
    reader: { format: "ndjson" },
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["region"],
    sortBy: ["order_id"],
  };
  writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));
  return { dir, projectId };
}

describe("snaplake run with empty, null and default-partition values", () => {
  it("keeps every id exactly once; all three read back as null from one folder", async () => {
    const { dir, projectId } = projectDir([
      '{"order_id":1,"region":"eu"}',
      '{"order_id":2,"region":""}',
      '{"order_id":3,"region":null}',
      `{"order_id":4,"region":"${HIVE_DEFAULT_PARTITION}"}`,
      '{"order_id":5,"region":"eu"}',
    ]);
    const ran = await snaplake(["run", "--config", join(dir, "snaplake.config.json"), "--json"]);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).validation.ok).toBe(true);

    expect(readdirSync(join(dir, "lake")).sort()).toEqual([`region=${HIVE_DEFAULT_PARTITION}`, "region=eu"]);
    // Read back as any Hive reader would: the folder is the value, the default partition is null.
    const lake = pl
      .scanParquet(join(dir, "lake/"), { hivePartitioning: true })
      .collectSync()
      .sort("order_id");
    expect(lake.getColumn("order_id").cast(pl.Int64).toArray().map(Number)).toEqual([1, 2, 3, 4, 5]);
    expect(lake.getColumn("region").toArray()).toEqual(["eu", null, null, null, "eu"]);

    // Staging wrote the default partition once, and its manifest names it once.
    const staged = readdirSync(
      join(dir, "staging", projectId, "datalake", `region=${HIVE_DEFAULT_PARTITION}`),
    );
    expect(staged).toHaveLength(1);
  });
});
