/**
 * `snaplake preview` and `snaplake query` on a lake in a local folder and on s3rver (read through the
 * storage layer), and on a Delta table (its committed files only). The lake is made by the built binary
 * (found by the config file in its current folder); preview and query, which only read and print, run in
 * this process, as the binary runs them. The expected numbers come from the snapshot itself, read with
 * polars, not from snaplake.
 */
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { runBuiltCli, snaplake } from "../support/cli.js";
import { createTestBucket, testS3Client } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const s3 = testS3Client();
afterAll(() => s3.destroy());

interface Place {
  storage: Storage;
  base: string;
  aws: Record<string, unknown>;
  env: Record<string, string>;
}

const local = async (dir: string): Promise<Place> => ({
  storage: createStorage(),
  base: `${dir}/`,
  aws: {},
  env: {},
});
const onS3rver = async (): Promise<Place> => ({
  storage: createStorage({ s3 }),
  base: `s3://${await createTestBucket(s3, "lake-query")}/`,
  aws: { region: "us-east-1", s3Endpoint: inject("servers").s3, forcePathStyle: true },
  // s3rver accepts only its own key pair.
  env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
});

/** Rows per order year, read from the snapshot's own files. */
async function rowsPerYear(storage: Storage, uris: string[]): Promise<Record<string, number>> {
  const frames = await Promise.all(uris.map(async (uri) => pl.readParquet(await storage.get(uri))));
  const years = pl
    .concat(frames)
    .select(pl.col("order_time").dt.strftime("%Y").alias("year"))
    .getColumn("year")
    .toArray() as string[];
  const counts: Record<string, number> = {};
  for (const year of years) counts[year] = (counts[year] ?? 0) + 1;
  return counts;
}

async function lakeProject(place: Place, dir: string, table: Record<string, unknown> = { format: "hive" }) {
  const snapshot = await writeOrdersSnapshot(place.storage, `${place.base}snapshot/`, {
    rows: 3_000,
    files: 3,
  });
  const config = {
    projectId: "orders-lake-query",
    snapshot: { uri: `${place.base}snapshot/` },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    stagingUri: `${place.base}staging/`,
    datalakeUri: `${place.base}lake/`,
    partitionKeys: ["year"],
    sortBy: ["order_time"],
    table,
    aws: place.aws,
  };
  const configFile = join(dir, "snaplake.config.jsonc");
  writeFileSync(configFile, JSON.stringify(config));
  const ran = await runBuiltCli(["run", "--json"], dir, place.env);
  expect(ran.code, ran.stderr).toBe(0);
  const cli = async (...args: string[]) => {
    for (const [name, value] of Object.entries(place.env)) vi.stubEnv(name, value);
    try {
      return await snaplake([...args, "--config", configFile]);
    } finally {
      vi.unstubAllEnvs();
    }
  };
  /** The same through the built binary, in the project's folder (config found there). */
  const binary = (...args: string[]) => runBuiltCli(args, dir, place.env);
  return { cli, binary, snapshot, perYear: await rowsPerYear(place.storage, snapshot.uris) };
}

describe.each([
  ["a local folder", local],
  ["s3rver", () => onS3rver()],
])("preview and query on a lake in %s", (_name, makePlace) => {
  it("preview prints the first rows (of a partition), query answers SQL with the snapshot's numbers", async () => {
    const dir = tempDir("snaplake-lake-query-");
    const { cli, binary, snapshot, perYear } = await lakeProject(await makePlace(dir), dir);

    // One preview and one query through the built binary; the other cases in this process.
    const first = await binary("preview", "--limit", "5", "--json");
    expect(first.code, first.stderr).toBe(0);
    const rows = JSON.parse(first.stdout);
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(["order_id", "amount", "year"]));
    expect(first.stderr).toContain("(hive)");

    const [year, count] = Object.entries(perYear)[0]!;
    const partition = JSON.parse(
      (await cli("preview", "--partition", `year=${year}`, "--limit", "100000", "--json")).stdout,
    );
    expect(partition).toHaveLength(count);
    expect(new Set(partition.map((row: { year: string }) => row.year))).toEqual(new Set([year]));

    const text = await cli("preview", "-n", "3");
    expect(text.stdout).toContain("shape: (3, ");
    expect(text.stdout).toContain("order_id");

    const total = await binary("query", "SELECT count(*) AS n FROM lake", "--json");
    expect(total.code, total.stderr).toBe(0);
    expect(JSON.parse(total.stdout)).toEqual([{ n: snapshot.rows }]);
    const grouped = await cli(
      "query",
      "SELECT year, count(*) AS n FROM lake GROUP BY year ORDER BY year",
      "--json",
    );
    expect(
      Object.fromEntries(JSON.parse(grouped.stdout).map((r: { year: string; n: number }) => [r.year, r.n])),
    ).toEqual(perYear);
    const onePartition = await cli(
      "query",
      "SELECT count(*) AS n FROM lake",
      "--partition",
      `year=${year}`,
      "--json",
    );
    expect(JSON.parse(onePartition.stdout)).toEqual([{ n: count }]);

    const badColumn = await cli("query", "SELECT nope FROM lake");
    expect(badColumn.code).toBe(2);
    expect(badColumn.stderr).toContain('unable to find column "nope"');
    const badPartition = await cli("preview", "--partition", "region=eu");
    expect(badPartition.code).toBe(2);
    expect(badPartition.stderr).toContain("partition keys (year)");
    const emptyPartition = await cli("preview", "--partition", "year=1999");
    expect(emptyPartition.code).toBe(1);
    expect(emptyPartition.stderr).toContain(`"year":"${year}"`);
  }, 180_000);
});

describe("preview and query on a Delta table", () => {
  it("read the committed version's files only, not a data file the log does not name", async () => {
    const dir = tempDir("snaplake-lake-query-delta-");
    const { cli, snapshot } = await lakeProject(await local(dir), dir, { format: "delta", mode: "append" });
    // A data file written under the table but never committed (as a failed step 4 leaves): not the table's.
    const folder = join(dir, "lake", readdirSync(join(dir, "lake")).find((f) => f.startsWith("year="))!);
    const file = readdirSync(folder).find((f) => f.endsWith(".parquet"))!;
    copyFileSync(join(folder, file), join(folder, `uncommitted-${file}`));

    const total = await cli("query", "SELECT count(*) AS n FROM lake", "--json");
    expect(total.code, total.stderr).toBe(0);
    expect(total.stderr).toContain("(delta, Delta version 0)");
    expect(JSON.parse(total.stdout)).toEqual([{ n: snapshot.rows }]);
  }, 120_000);
});
