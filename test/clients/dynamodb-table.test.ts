import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { createTableAndWait, TableNotReadyError } from "../../src/clients/dynamodb-table.js";
import { testDynamoClient, uniqueName } from "../support/clients.js";
import { type RunningServer, startDynalite } from "../support/servers.js";

function tableWithIndex(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "gsi", AttributeType: "S" },
    ],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    GlobalSecondaryIndexes: [
      {
        IndexName: "by-gsi",
        KeySchema: [{ AttributeName: "gsi", KeyType: "HASH" }],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}

describe("createTableAndWait", () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("returns once the table and its index are ACTIVE, and again for a table that exists", async () => {
    // Like DynamoDB, this dynalite keeps a new table CREATING for a while.
    server = await startDynalite({ createTableMs: 600 });
    const client = testDynamoClient(server.endpoint);
    const name = uniqueName("table");
    const first = await createTableAndWait(client, tableWithIndex(name));
    expect(first.outcome).toBe("created");
    expect(first.table.TableStatus).toBe("ACTIVE");
    expect(first.table.GlobalSecondaryIndexes?.map((i) => i.IndexStatus)).toEqual(["ACTIVE"]);
    const again = await createTableAndWait(client, tableWithIndex(name));
    expect(again.outcome).toBe("existed");
    expect(again.table.TableStatus).toBe("ACTIVE");
    client.destroy();
  });

  it("gives up after timeoutMs with a typed error naming the table and its state", async () => {
    server = await startDynalite({ createTableMs: 30_000 });
    const client = testDynamoClient(server.endpoint);
    const name = uniqueName("slow");
    const error = await createTableAndWait(client, tableWithIndex(name), { timeoutMs: 300 }).catch((e) => e);
    expect(error).toBeInstanceOf(TableNotReadyError);
    expect(error.code).toBe("DYNAMODB_TABLE_NOT_READY");
    expect(error.message).toContain(`"${name}" is not ACTIVE after 300 ms (table CREATING`);
    client.destroy();
  });
});
