/**
 * Issue 19, item 6, through the CLI on local folders and the embedded tracker: `reader.format: "auto"` reads
 * a folder mixing csv, csv.gz, parquet and ndjson (datetimes in ms and us files widened to us); CSV `schema`,
 * `dateFormat` and `tryParseDates`; a `%Y` derived column on a CSV date left as text fails naming the column,
 * how it was declared and what to do; a file `auto` has no reader for fails naming it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { typeNameOf } from "../../src/frames/column-types.js";
import { snaplake, stderrLines } from "../support/cli.js";
import { uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

function project(files: Record<string, string | Buffer>, overrides: Record<string, unknown>): string {
  const dir = tempDir("snaplake-readers-");
  mkdirSync(join(dir, "snap"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, "snap", name), content);
  const config = {
    projectId: uniqueName("readers"),
    snapshot: { uri: "./snap/" },
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    sortBy: ["id"],
    ...overrides,
  };
  writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));
  return dir;
}

const run = (dir: string) =>
  snaplake(["run", "--config", join(dir, "snaplake.config.json"), "--state-dir", join(dir, "state")]);

function lake(dir: string): pl.DataFrame {
  return pl.scanParquet(join(dir, "lake/"), { hivePartitioning: true }).collectSync().sort("id");
}

/** A Parquet file with `id` and a `t` datetime column in the given unit. */
function parquet(ids: number[], unit: "ms" | "us"): Buffer {
  return pl
    .DataFrame({
      id: pl.Series("id", ids, pl.Int64),
      t: ids.map((id) => new Date(Date.UTC(2024, 0, id))),
    })
    .withColumns(pl.col("t").cast(pl.Datetime(unit)))
    .writeParquet();
}

const day = (n: number) => new Date(Date.UTC(2024, 0, n)).getTime();

describe("file readers", () => {
  it('"auto" reads csv, csv.gz, parquet (ms and us datetimes, widened to us) and ndjson from one folder', async () => {
    const dir = project(
      {
        "a.csv": "id,t\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n",
        "b.csv.gz": gzipSync("id,t\n3,2024-01-03 00:00:00\n"),
        "c.parquet": parquet([4, 5], "ms"),
        "d.parquet": parquet([6], "us"),
        "e.ndjson": '{"id":7}\n',
      },
      { reader: { format: "auto", schema: { t: "Datetime(ms)" } } },
    );
    const ran = await run(dir);
    expect(ran.code, ran.stderr).toBe(0);
    const rows = lake(dir);
    expect(rows.getColumn("id").toArray().map(Number)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(typeNameOf(rows.getColumn("t").dtype)).toBe("Datetime(us)");
    expect(
      rows
        .getColumn("t")
        .toArray()
        .map((t) => (t === null ? null : (t as unknown as Date).getTime())),
    ).toEqual([1, 2, 3, 4, 5, 6].map(day).concat([null as unknown as number]));
  }, 60_000);

  it("CSV: schema types columns, dateFormat parses declared dates, a %Y derived column then works", async () => {
    const dir = project(
      { "orders.csv": "id;amount;day\n1;10;31/12/2023\n2;20;01/01/2024\n3;5;15/02/2024\n" },
      {
        reader: {
          format: "csv",
          separator: ";",
          schema: { amount: "Float64", day: "Date" },
          dateFormat: "%d/%m/%Y",
        },
        derivedColumns: [{ name: "year", from: "day", format: "%Y" }],
        partitionKeys: ["year"],
      },
    );
    const ran = await run(dir);
    expect(ran.code, ran.stderr).toBe(0);
    const rows = lake(dir);
    expect(rows.getColumn("amount").dtype).toEqual(pl.Float64);
    expect(rows.getColumn("day").dtype).toEqual(pl.Date);
    expect(rows.getColumn("year").toArray().map(String)).toEqual(["2023", "2024", "2024"]);
    expect(rows.getColumn("amount").toArray()).toEqual([10, 20, 5]);
  }, 60_000);

  it("CSV: tryParseDates makes ISO dates dates, so %Y works on them", async () => {
    const dir = project(
      { "orders.csv": "id,day\n1,2023-12-31\n2,2024-01-01\n" },
      {
        reader: { format: "csv", tryParseDates: true },
        derivedColumns: [{ name: "year", from: "day", format: "%Y" }],
        partitionKeys: ["year"],
      },
    );
    const ran = await run(dir);
    expect(ran.code, ran.stderr).toBe(0);
    expect(lake(dir).getColumn("year").toArray().map(String)).toEqual(["2023", "2024"]);
  }, 60_000);

  it("a %Y derived column on a CSV date left as text fails naming the column, its declaration and the fix", async () => {
    const dir = project(
      { "orders.csv": "id,day\n1,2023-12-31\n" },
      {
        reader: { format: "csv" },
        derivedColumns: [{ name: "year", from: "day", format: "%Y" }],
        partitionKeys: ["year"],
      },
    );
    const ran = await run(dir);
    expect(ran.code).toBe(1);
    const [line] = stderrLines(ran.stderr);
    expect(line).toContain('Derived column "year" failed');
    expect(line).toContain('declared as derivedColumns: {"name":"year","from":"day","format":"%Y"}');
    expect(line).toContain("source column is text");
    expect(line).toContain("reader.tryParseDates");
  }, 60_000);

  it('"auto" fails the group naming a file it has no reader for', async () => {
    const dir = project({ "a.csv": "id\n1\n", "notes.xlsx": "not a table" }, { reader: { format: "auto" } });
    const ran = await run(dir);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/no reader for file:\/\/\S+\/snap\/notes\.xlsx \(extension "xlsx"\)/);
  }, 60_000);
});
