/** A tracker on a fresh table of the given test server, with a request counter on its client. */
import { DynamoTracker, type DynamoTrackerOptions } from "../../../src/tracker/index.js";
import { testDynamoClient, uniqueName } from "../../support/clients.js";
import { countRequests } from "./request-counter.js";

export async function createTestTracker(
  endpoint: string,
  options: Omit<Partial<DynamoTrackerOptions>, "client"> = {},
) {
  const client = testDynamoClient(endpoint);
  const requests = countRequests(client);
  const tracker = new DynamoTracker({ client, tableName: uniqueName("tracker"), ...options });
  await tracker.createTable();
  return { client, tracker, requests };
}

/** Another tracker (another "worker") on the same table, with its own options. */
export function sameTable(
  endpoint: string,
  tableName: string,
  options: Omit<Partial<DynamoTrackerOptions>, "client" | "tableName"> = {},
) {
  const client = testDynamoClient(endpoint);
  return { client, tracker: new DynamoTracker({ client, tableName, ...options }) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
