/**
 * Retry only what can succeed: a failure retrying can't fix (bad config or data) ends the task on its first
 * attempt; a retryable one is retried after a backoff that doubles per attempt, during which the failing
 * worker keeps the lease, so no other worker retries sooner.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { applyDerivedColumns } from "../../src/steps/step-1-3-process-snapshot-group.js";
import { dynamoBackends, uniqueName } from "../support/clients.js";
import { createTestTracker, sameTable } from "./support/tracker.js";

/** What a bad derived column throws, from the real step code. */
function badDerivedColumn(): unknown {
  try {
    applyDerivedColumns(pl.DataFrame({ a: [1] }), [{ name: "year", expr: pl.col("missing").cast(pl.Utf8) }]);
  } catch (error) {
    return error;
  }
  throw new Error("the derived column did not fail");
}

describe.each(dynamoBackends())("retries on $name", ({ endpoint }) => {
  const clients: DynamoDBClient[] = [];
  afterAll(() => {
    for (const client of clients) client.destroy();
  });
  const step = "convert";

  it("a non-retryable error fails the task at once, on its first attempt, with its message", async () => {
    const { client, tracker } = await createTestTracker(endpoint, { maxAttempts: 3, retryDelayMs: 120_000 });
    clients.push(client);
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    // A backoff would outlast the test's timeout: the error can't pass, so nothing is waited for.
    const result = await tracker.runTask(project, step, "t", async () => {
      throw badDerivedColumn();
    });
    expect(result.outcome).toBe("failed");
    expect(result.task).toMatchObject({ status: "ignored", attempts: 1, maxAttempts: 3 });
    expect(result.task?.errors).toMatchObject([
      { attempt: 1, name: "DerivedColumnError", code: "DERIVED_COLUMN_FAILED" },
    ]);
    expect(result.task?.errors[0]?.message).toContain('Derived column "year"');
    expect(await tracker.todo(project, step)).toEqual([]);
    expect((await tracker.failures(project, step)).map((t) => t.status)).toEqual(["ignored"]);
  });

  it("a retryable error is retried after a backoff that doubles, holding the lease meanwhile", async () => {
    const delay = 1_500;
    const { client, tracker } = await createTestTracker(endpoint, { maxAttempts: 3, retryDelayMs: delay });
    clients.push(client);
    const other = sameTable(endpoint, tracker.tableName);
    clients.push(other.client);
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const throttled = () =>
      Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      });

    const waits: number[] = [];
    let stolen: unknown = "not tried";
    for (let attempt = 1; attempt <= 3; attempt++) {
      let failedAt = 0;
      const result = await tracker.runTask(project, step, "t", async () => {
        failedAt = Date.now();
        if (attempt === 1) {
          // While the first attempt backs off, the task stays claimed: nobody retries it sooner.
          setTimeout(() => {
            other.tracker.claim(project, step, "t").then((lease) => {
              stolen = lease;
            });
          }, 100);
        }
        throw throttled();
      });
      waits.push(Date.now() - failedAt);
      expect(result.task).toMatchObject({ attempts: attempt, status: attempt < 3 ? "failed" : "ignored" });
    }
    expect(stolen).toBeUndefined();
    // Half to all of the delay, doubled per attempt (the last attempt's failure is final: nothing to wait for).
    expect(waits[0]).toBeGreaterThanOrEqual(delay / 2);
    expect(waits[1]).toBeGreaterThanOrEqual(delay);
    const task = await tracker.get(project, step, "t");
    expect(task?.errors.map((e) => [e.attempt, e.name])).toEqual([
      [1, "ThrottlingException"],
      [2, "ThrottlingException"],
      [3, "ThrottlingException"],
    ]);
  });
});
