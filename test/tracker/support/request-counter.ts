/** Counts the DynamoDB operations a client sends (one per command, retries not included). */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface RequestCounter {
  total(): number;
  byCommand(): Record<string, number>;
  reset(): void;
}

export function countRequests(client: DynamoDBClient): RequestCounter {
  let counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? "unknown").replace(/Command$/, "");
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "snaplakeRequestCounter" },
  );
  return {
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    byCommand: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
  };
}
