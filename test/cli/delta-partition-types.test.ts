/**
 * Partition columns keep their real types in Delta and Iceberg tables: the CLI (in this process) writes a table
 * partitioned by an Int64 (with nulls), a Date, a Boolean and a UTC timestamp; for Delta the protocol-text
 * reader checks the schema's types and each add's serialised partitionValues against the snapshot's own
 * values, for Iceberg icebird reads the schema, the partition spec and the manifests' typed partition
 * tuples; `snaplake query` compares them as numbers, dates and booleans (not as folder-name text).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { icebergManifests, icebergMetadata, icebergRead } from "icebird";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import { type CliResult, snaplake } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { checkFiles, replayLog } from "../table/delta/independent-reader.js";
import { installFileFetch } from "../table/iceberg/file-fetch.js";

const ROWS = 60;
const day = (i: number) => (i % 3 === 0 ? "2024-02-28" : i % 3 === 1 ? "2024-02-29" : "2024-03-01");
const at = (i: number) => new Date(Date.UTC(2024, 1, 28 + (i % 3), 13, 30, 15, 250));

function snapshotFrame(): pl.DataFrame {
  const index = Array.from({ length: ROWS }, (_, i) => i);
  return pl
    .DataFrame({
      id: pl.Series(
        "id",
        index.map((i) => `r${i}`),
        pl.Utf8,
      ),
      region_id: pl.Series(
        "region_id",
        index.map((i) => (i % 3 === 2 ? null : (i % 3) + 10)),
        pl.Int64,
      ),
      day: pl.Series("day", index.map(day), pl.Utf8),
      flag: pl.Series(
        "flag",
        index.map((i) => i % 3 === 1),
        pl.Bool,
      ),
      at: pl.Series(
        "at",
        index.map((i) => at(i).getTime()),
        pl.Float64,
      ),
      amount: pl.Series(
        "amount",
        index.map((i) => i * 1.5),
        pl.Float64,
      ),
    })
    .withColumns(
      pl.col("day").str.strptime(pl.Date, "%Y-%m-%d"),
      pl.col("at").cast(pl.Int64).cast(pl.Datetime("ms", "UTC")),
    );
}

/** Runs the typed-partition snapshot through the CLI (in this process) into a table of `format`. */
async function runTypedPartitions(format: "delta" | "iceberg") {
  const dir = tempDir(`snaplake-${format}-partition-types-`);
  const storage = createStorage();
  await storage.put(`${dir}/snapshot/part-0.parquet`, snapshotFrame().writeParquet());
  const config = {
    projectId: "typed-partitions",
    snapshot: { uri: `${dir}/snapshot/` },
    reader: { format: "parquet" },
    stagingUri: `${dir}/staging/`,
    datalakeUri: `${dir}/lake/`,
    partitionKeys: ["region_id", "day", "flag", "at"],
    sortBy: ["id"],
    table: { format, mode: "append" },
  };
  writeFileSync(join(dir, "snaplake.config.jsonc"), JSON.stringify(config));
  const cli = (...args: string[]) => snaplake([...args, "--config", join(dir, "snaplake.config.jsonc")]);
  const ran = await cli("run", "--json");
  expect(ran.code, ran.stderr).toBe(0);
  return { dir, cli };
}

/** Typed on the way back: numeric and date comparisons, booleans as booleans, the null partition null. */
async function expectTypedQueries(cli: (...args: string[]) => Promise<CliResult>) {
  const query = await cli(
    "query",
    "SELECT region_id, flag, count(*) AS n, min(day) AS first_day FROM lake WHERE region_id >= 10 AND day < '2024-03-01' GROUP BY region_id, flag ORDER BY region_id",
    "--json",
  );
  expect(query.code, query.stderr).toBe(0);
  const rows = JSON.parse(query.stdout) as Array<Record<string, unknown>>;
  expect(rows.map(({ region_id, flag, n }) => ({ region_id, flag, n }))).toEqual([
    { region_id: 10, flag: false, n: ROWS / 3 },
    { region_id: 11, flag: true, n: ROWS / 3 },
  ]);
  const nulls = await cli("query", "SELECT count(*) AS n FROM lake WHERE region_id IS NULL", "--json");
  expect(JSON.parse(nulls.stdout)).toEqual([{ n: ROWS / 3 }]);
  const hours = await cli(
    "query",
    "SELECT count(*) AS n FROM lake WHERE EXTRACT(DAY FROM at) = 29 AND EXTRACT(MILLISECOND FROM at) = 15250",
    "--json",
  );
  expect(hours.code, hours.stderr).toBe(0);
  expect(JSON.parse(hours.stdout)).toEqual([{ n: ROWS / 3 }]);
}

describe("a Delta table's partition columns", () => {
  it("are long, date, boolean and timestamp in the schema, serialised per the protocol, typed when read", async () => {
    const { dir, cli } = await runTypedPartitions("delta");
    const table = replayLog(join(dir, "lake"));
    expect(table.metaData.partitionColumns).toEqual(["region_id", "day", "flag", "at"]);
    const typeOf = (name: string) => table.schema.fields.find((f) => f.name === name)?.type;
    expect(["region_id", "day", "flag", "at"].map(typeOf)).toEqual(["long", "date", "boolean", "timestamp"]);
    expect(typeOf("amount")).toBe("double");
    // "timestamp" needs no table feature: the lowest versions stay.
    expect(table.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });

    // One add per partition, values as PROTOCOL.md's "Partition Value Serialization" writes them.
    const values = [...table.files.values()]
      .map((add) => add.partitionValues)
      .sort((a, b) => (a.day < b.day ? -1 : 1));
    expect(values).toEqual([
      { region_id: "10", day: "2024-02-28", flag: "false", at: "2024-02-28T13:30:15.250000Z" },
      { region_id: "11", day: "2024-02-29", flag: "true", at: "2024-02-29T13:30:15.250000Z" },
      { region_id: null, day: "2024-03-01", flag: "false", at: "2024-03-01T13:30:15.250000Z" },
    ]);
    expect(checkFiles(join(dir, "lake"), table)).toBe(ROWS);
    await expectTypedQueries(cli);
  }, 120_000);
});

describe("an Iceberg table's partition columns", () => {
  let restoreFetch: () => void;
  beforeAll(() => {
    restoreFetch = installFileFetch();
  });
  afterAll(() => restoreFetch());

  it("are long, date, boolean and timestamptz in the schema and identity partition fields, read back typed by icebird and by query", async () => {
    const { dir, cli } = await runTypedPartitions("iceberg");
    const tableUrl = pathToFileURL(join(dir, "lake")).href;
    // biome-ignore lint/suspicious/noExplicitAny: icebird's metadata, checked by the assertions
    const metadata: any = await icebergMetadata({ tableUrl });
    const schema = metadata.schemas.find(
      (s: { "schema-id": number }) => s["schema-id"] === metadata["current-schema-id"],
    );
    const typeOf = (name: string) => schema.fields.find((f: { name: string }) => f.name === name)?.type;
    expect(["region_id", "day", "flag", "at", "amount"].map(typeOf)).toEqual([
      "long",
      "date",
      "boolean",
      "timestamptz",
      "double",
    ]);
    expect(
      metadata["partition-specs"][0].fields.map((f: { name: string; transform: string }) => [
        f.name,
        f.transform,
      ]),
    ).toEqual([
      ["region_id", "identity"],
      ["day", "identity"],
      ["flag", "identity"],
      ["at", "identity"],
    ]);
    // The partition tuples as icebird decodes the manifests: typed values, the null partition null.
    const manifests = await icebergManifests(metadata);
    // icebird decodes dates and timestamps to Dates (the µs of a timestamptz to its ms).
    const partitions = manifests
      .flatMap((m) => m.entries.map((e) => e.data_file.partition as Record<string, unknown>))
      .map((p) => ({
        region_id: p.region_id ?? null,
        day: (p.day as Date).toISOString().slice(0, 10),
        flag: p.flag,
        at: (p.at as Date).toISOString(),
      }))
      .sort((a, b) => (a.day < b.day ? -1 : 1));
    expect(partitions).toEqual(
      [0, 1, 2].map((i) => ({
        region_id: i === 2 ? null : BigInt(10 + i),
        day: day(i),
        flag: i === 1,
        at: at(i).toISOString(),
      })),
    );
    const rows = await icebergRead({ tableUrl });
    expect(rows).toHaveLength(ROWS);
    await expectTypedQueries(cli);
  }, 120_000);
});
