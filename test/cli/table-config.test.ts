/**
 * `snaplake table history|files --config`: a project's Delta table on s3rver read through the project's
 * DynamoDB commit table, as its writers use it. A version whose writer died after its DynamoDB entry (the
 * commit, by the S3DynamoDBLogStore protocol) but before copying it into _delta_log/ is the table's: the
 * commands finish it and show it.
 */
import pl from "nodejs-polars";
import { describe, expect, inject, it } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import { commitToDeltaTable, DynamoDbLogStore } from "../../src/table/delta/index.js";
import { testDynamoClient, testS3Client } from "../support/clients.js";
import { lakeCli, s3Lake, writeConfig } from "../support/lake-e2e.js";
import { leaveUnfinishedCommit } from "../table/delta/unfinished-commit.js";

describe("table history and files --config on s3rver with the DynamoDB commit table", () => {
  it("show the version the commit table holds but _delta_log/ does not yet", async () => {
    const lake = await s3Lake();
    const { file } = writeConfig(lake, "orders", {
      snapshot: { uri: "./orders/snapshot/" },
      table: { format: "delta", mode: "append" },
    });
    const tableUri = lake.datalakeUri.replace(/\/$/, "");
    const logTable = (lake.shared.logStore as { tableName: string }).tableName;
    const s3 = testS3Client();
    const dynamo = testDynamoClient(inject("servers").dynalite);
    const storage = createStorage({ s3 });
    const logStore = new DynamoDbLogStore({ storage, client: dynamo, tableName: logTable });
    const orders = async (name: string, rows: number) => {
      const uri = `${tableUri}/${name}.parquet`;
      const ids = Array.from({ length: rows }, (_, i) => i);
      await storage.put(uri, pl.DataFrame({ id: pl.Series("id", ids, pl.Int64) }).writeParquet());
      return uri;
    };
    const first = await orders("part-0", 2);
    await commitToDeltaTable({
      storage,
      tableUri,
      projectId: "night-1",
      mode: "append",
      files: [first],
      partitionColumns: [],
      logStore,
    });

    await orders("part-1", 5);
    await leaveUnfinishedCommit({
      storage,
      dynamo,
      logTable,
      tableUri,
      version: 1,
      appId: "night-2",
      file: { path: "part-1.parquet", rows: 5 },
    });

    const history = await lakeCli(lake, ["table", "history", "--config", file, "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout).map((v: { version: number }) => v.version)).toEqual([0, 1]);
    const files = await lakeCli(lake, ["table", "files", "--config", file, "--json"]);
    expect(files.code, files.stderr).toBe(0);
    const listed = JSON.parse(files.stdout);
    expect(listed.version).toBe(1);
    expect(listed.files.map((f: { rows: number }) => f.rows).sort()).toEqual([2, 5]);
    s3.destroy();
    dynamo.destroy();
  });
});
