import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DynamoTracker } from "../../src/tracker/index.js";
import { snaplake } from "../support/cli.js";
import { dynamoBackends, testDynamoClient, uniqueName } from "../support/clients.js";

describe.each(dynamoBackends())("snaplake tracker CLI on $name", ({ endpoint }) => {
  // The CLI takes credentials from the standard AWS chain.
  beforeEach(() => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "snaplaketest");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "snaplaketest");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("creates the table, then reports a step's status with a failing exit code until it is complete", async () => {
    const table = uniqueName("tracker-cli");
    const created = await snaplake(["tracker", "create", "--table", table, "--endpoint", endpoint]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Table ${table} is ACTIVE`);

    const client = testDynamoClient(endpoint);
    try {
      const tracker = new DynamoTracker({ client, tableName: table });
      await tracker.createTasks("proj", "convert", [
        { taskId: "a", input: {} },
        { taskId: "b", input: {} },
      ]);
      await tracker.runTask("proj", "convert", "a", async () => ({}));
      await tracker.runTask("proj", "convert", "b", async () => {
        throw new Error("schema drift in b.csv");
      });

      const status = await snaplake([
        "tracker",
        "status",
        "--table",
        table,
        "--endpoint",
        endpoint,
        "--project",
        "proj",
        "--step",
        "convert",
      ]);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain("2 tasks: pending 0, in_progress 0, failed 1, succeeded 1, ignored 0");
      expect(status.stdout).toContain("b: failed after 1 attempts: Error: schema drift in b.csv");

      // As JSON: the error's message, without its stack (snaplake() fails on any stack in the output).
      const json = await snaplake([
        "tracker",
        "status",
        "--table",
        table,
        "--endpoint",
        endpoint,
        "--project",
        "proj",
        "--step",
        "convert",
        "--json",
      ]);
      const missing = JSON.parse(json.stdout).missing;
      expect(missing.map((t: { errors: Array<{ message: string }> }) => t.errors[0]?.message)).toEqual([
        "schema drift in b.csv",
      ]);
    } finally {
      client.destroy();
    }
  });
});
