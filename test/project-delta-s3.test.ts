/**
 * A Delta lake on s3rver with its commits made exclusive by the DynamoDB commit table (dynalite): runs of
 * several projects append into one table, one commit each, and a re-run commits nothing.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { writeOrdersSnapshot } from "../src/samples/orders.js";
import { createDeltaLogTable, openDeltaTable } from "../src/table/delta/index.js";
import { testDynamoClient, uniqueName } from "./support/clients.js";
import {
  createTestContext,
  OrdersProject,
  ordersConfig,
  type TestContext,
} from "./support/orders-project.js";

const clients: Array<{ destroy(): void }> = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

describe("Delta lake on s3rver + the DynamoDB commit table", () => {
  it("batches append one commit each; re-running a batch adds no version", async () => {
    const context: TestContext = await createTestContext("s3");
    const client = testDynamoClient(inject("servers").dynalite);
    clients.push(client);
    const logTable = uniqueName("delta-log");
    await createDeltaLogTable(client, logTable);
    const lake = `${context.root}lake/`;
    const table = {
      format: "delta" as const,
      mode: "append" as const,
      logStore: { type: "dynamodb" as const, tableName: logTable },
    };
    const batch = async (name: string, seed: number) => {
      const root = `${context.root}${name}/`;
      const snapshot = await writeOrdersSnapshot(context.storage, `${root}snapshot/`, {
        rows: 400,
        files: 2,
        seed,
      });
      const config = ordersConfig(context, {
        projectId: uniqueName(name),
        snapshot: { uri: `${root}snapshot/` },
        stagingUri: `${root}staging/`,
        datalakeUri: lake,
        table,
      });
      return {
        project: new OrdersProject(config, { ...context, dynamodb: () => client }),
        rows: snapshot.rows,
      };
    };
    const batches = [await batch("b1", 1), await batch("b2", 2)];
    let expected = 0;
    for (const [version, { project, rows }] of batches.entries()) {
      const summary = await project.runAll();
      expect(summary.validation.lake.rows).toBe(rows);
      expect(summary.commit).toMatchObject({ format: "delta", version, committed: true, rowsAdded: rows });
      expected += rows;
      const opened = await openDeltaTable(context.storage, lake);
      expect(opened.version).toBe(version);
      expect(opened.files.reduce((n, f) => n + (f.rows ?? 0), 0)).toBe(expected);
      expect(opened.partitionColumns).toEqual(["year", "month"]);
    }
    // The first batch again, in a new process (a new Project over the same tracker): nothing is committed.
    const again = new OrdersProject(batches[0]!.project.config, { ...context, dynamodb: () => client });
    expect((await again.runAll()).commit).toMatchObject({ version: 0 });
    const history = await (await openDeltaTable(context.storage, lake)).history();
    expect(history.map((v) => v.projectId)).toEqual(batches.map((b) => b.project.projectId));
  });
});
