import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_EVENT_MANIFEST_TTL_SECONDS,
  EventManifest,
  eventKey,
} from "../../src/snowplow/event-manifest.js";
import { dynamoBackends, testDynamoClient, uniqueName } from "../support/clients.js";

const T1 = Date.UTC(2017, 1, 21, 11, 40, 15) / 1000;
const T2 = T1 + 3600;

describe.each(dynamoBackends())("EventManifest on $name", ({ name, endpoint }) => {
  const client = testDynamoClient(endpoint);
  afterAll(() => client.destroy());

  async function freshManifest(): Promise<EventManifest> {
    const manifest = new EventManifest(client, uniqueName("events"));
    await manifest.create();
    return manifest;
  }

  it("creates the Snowplow table layout and switches TTL on where the server supports it", async () => {
    const manifest = new EventManifest(client, uniqueName("events"));
    expect(await manifest.exists()).toBe(false);
    const first = await manifest.create();
    const again = await manifest.create();
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(await manifest.exists()).toBe(true);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: manifest.tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "eventId", KeyType: "HASH" },
      { AttributeName: "fingerprint", KeyType: "RANGE" },
    ]);
    const { TimeToLiveDescription } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: manifest.tableName }),
    );
    if (name === "dynamodb-local") {
      // DynamoDB Local implements UpdateTimeToLive; a second create sees it on and leaves it.
      expect(first.ttlEnabled).toBe(true);
      expect(again.ttlEnabled).toBe(true);
      expect(TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: "ENABLED", AttributeName: "ttl" });
    } else {
      // dynalite answers UnknownOperationException: create goes on with a warning.
      expect(first.ttlEnabled).toBe(false);
      expect(TimeToLiveDescription?.TimeToLiveStatus).toBe("DISABLED");
    }
  });

  it("stores items exactly as Snowplow does: eventId, fingerprint, etlTime and ttl = etlTime + 180 days", async () => {
    const manifest = await freshManifest();
    await manifest.put("e1", "fp1", new Date(T1 * 1000 + 789));
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: manifest.tableName,
        Key: { eventId: { S: "e1" }, fingerprint: { S: "fp1" } },
        ConsistentRead: true,
      }),
    );
    expect(Item).toEqual({
      eventId: { S: "e1" },
      fingerprint: { S: "fp1" },
      etlTime: { N: String(T1) },
      ttl: { N: String(T1 + DEFAULT_EVENT_MANIFEST_TTL_SECONDS) },
    });
    expect(DEFAULT_EVENT_MANIFEST_TTL_SECONDS).toBe(180 * 24 * 3600);
  });

  it("flags an event seen in another batch, but never in a re-run of its own batch", async () => {
    const manifest = await freshManifest();
    expect(await manifest.put("e1", "fp1", T1)).toBe("unique");
    expect(await manifest.put("e1", "fp1", T1)).toBe("unique"); // re-run of the same batch
    expect(await manifest.put("e1", "fp1", T2)).toBe("duplicate"); // a later batch
    expect(await manifest.put("e1", "fp2", T2)).toBe("unique"); // synthetic duplicate: other fingerprint
    expect(await manifest.put("e2", "fp1", T2)).toBe("unique");
    expect(await manifest.record("e1", "fp1", T1)).toBe("same-etl-time");
    expect(await manifest.record("e3", "fp1", T1)).toBe("new");
    expect(await manifest.record("e3", "fp1", T2)).toBe("duplicate");
  });

  it("recognises items written by Snowplow's shredder (same names and types)", async () => {
    const manifest = await freshManifest();
    await client.send(
      new PutItemCommand({
        TableName: manifest.tableName,
        Item: {
          eventId: { S: "from-shredder" },
          fingerprint: { S: "abc" },
          etlTime: { N: String(T1) },
          ttl: { N: String(T1 + 15552000) },
        },
      }),
    );
    expect(await manifest.put("from-shredder", "abc", T2)).toBe("duplicate");
    expect(await manifest.put("from-shredder", "abc", T1)).toBe("unique");
  });

  it("putMany returns one outcome per event, in input order", async () => {
    const manifest = await freshManifest();
    await manifest.put("seen", "fp", T1);
    const events = Array.from({ length: 60 }, (_, i) => ({
      eventId: `id-${i}`,
      fingerprint: "fp",
      etlTime: T2,
    }));
    events.splice(17, 0, { eventId: "seen", fingerprint: "fp", etlTime: T2 });
    const results = await manifest.putMany(events, { concurrency: 4 });
    expect(results).toHaveLength(61);
    expect(results[17]).toBe("duplicate");
    expect(results.filter((r) => r === "unique")).toHaveLength(60);
  });

  it("checkBatch returns the keys seen in earlier batches; re-checking a batch flags nothing", async () => {
    const manifest = await freshManifest();
    const batch1 = [
      { eventId: "a", fingerprint: "1" },
      { eventId: "b", fingerprint: "2" },
      { eventId: "b", fingerprint: "2" },
      { eventId: "nofp", fingerprint: "" },
    ];
    expect((await manifest.checkBatch(batch1, T1)).size).toBe(0);
    expect((await manifest.checkBatch(batch1, T1)).size).toBe(0);
    const batch2 = [
      { eventId: "a", fingerprint: "1" },
      { eventId: "b", fingerprint: "other" },
      { eventId: "c", fingerprint: "3" },
      { eventId: "nofp", fingerprint: null },
    ];
    expect([...(await manifest.checkBatch(batch2, T2))]).toEqual([eventKey("a", "1")]);
  });
});
