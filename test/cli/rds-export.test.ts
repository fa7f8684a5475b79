/**
 * An RDS snapshot export through the `snaplake` CLI (in this process) on a local folder: one COMPLETE table becomes a
 * partitioned lake with its exported column types kept and its rows unchanged; a table whose export FAILED
 * is refused naming the table and its status.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import {
  type GeneratedRdsExport,
  generateRdsExport,
  RDS_SAMPLE_SCHEMA,
} from "../../src/testing/rds-export.js";
import { DynamoTracker } from "../../src/tracker/dynamo-tracker.js";
import { snaplake } from "../support/cli.js";
import { testDynamoClient, uniqueName } from "../support/clients.js";

describe("snaplake run on an RDS snapshot export", () => {
  let dir: string;
  let storage: Storage;
  let generated: GeneratedRdsExport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "snaplake-rds-cli-"));
    storage = createStorage({ localRoot: dir });
    generated = await generateRdsExport(storage, {
      baseUri: `file://${dir}/exports/`,
      exportId: "shop-export-2024-05-01",
      seed: 9,
      tables: [
        { target: "shop.public.orders", rows: 5_000, batches: 2, filesPerBatch: 3 },
        { target: "shop.public.audit", rows: 100, status: "FAILED" },
      ],
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function writeConfig(name: string, table: string): Promise<string> {
    const tableName = uniqueName("rds-tasks");
    const dynalite = inject("servers").dynalite;
    await new DynamoTracker({ client: testDynamoClient(dynalite), tableName }).createTable();
    const config = {
      projectId: uniqueName(name),
      snapshot: { rdsExport: "./exports/shop-export-2024-05-01/", table },
      reader: { format: "parquet" },
      derivedColumns: [{ name: "order_month", from: "created_at", format: "%Y-%m" }],
      stagingUri: `./${name}/staging/`,
      datalakeUri: `./${name}/lake/`,
      partitionKeys: ["order_month"],
      sortBy: ["order_id"],
      tracker: { tableName, leaseSeconds: 60, maxAttempts: 1 },
      aws: { region: "us-east-1", dynamodbEndpoint: dynalite },
    };
    const path = join(dir, `${name}.config.json`);
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  it("turns a COMPLETE table into a partitioned lake with the exported column types and rows", async () => {
    const run = await snaplake(["run", "--config", await writeConfig("orders", "shop.public.orders")]);
    expect(run.stderr).not.toContain('"level":50');
    expect(run.code).toBe(0);

    const lake = `file://${dir}/orders/lake/`;
    const frames: pl.DataFrame[] = [];
    const months = new Set<string>();
    for await (const object of storage.list(lake)) {
      if (!object.uri.endsWith(".parquet")) continue;
      months.add(/order_month=([^/]+)\//.exec(object.uri)![1]!);
      const frame = pl.readParquet(await storage.get(object.uri));
      // Each file keeps the exported types, column by column.
      for (const [column, dtype] of Object.entries(RDS_SAMPLE_SCHEMA)) {
        expect(String(frame.getColumn(column).dtype), column).toBe(String(dtype));
      }
      frames.push(frame.select(...Object.keys(RDS_SAMPLE_SCHEMA)));
    }
    const expected = generated.tables.get("shop.public.orders")!;
    expect(months).toEqual(
      new Set(expected.getColumn("created_at").dt.strftime("%Y-%m").toArray() as string[]),
    );
    const actual = pl.concat(frames).sort("order_id");
    expect(actual.height).toBe(5_000);
    expect(actual.frameEqual(expected.sort("order_id"))).toBe(true);
  }, 300_000);

  it("refuses a table whose export FAILED, naming the table and its status", async () => {
    const run = await snaplake(["run", "--config", await writeConfig("audit", "shop.public.audit")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("table shop.public.audit is FAILED, not COMPLETE");
    expect(run.stderr).toContain("Export of this table failed");
  }, 300_000);
});
