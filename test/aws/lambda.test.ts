import { afterEach, describe, expect, it } from "vitest";
import {
  cachedProjectCount,
  closeLambdaRuntimes,
  handler,
  InvalidEventError,
  type StepActionResult,
  type TaskActionResult,
  TaskAttemptsExhaustedError,
  TaskFailedError,
  type TodoActionResult,
} from "../../src/aws/lambda.js";
import { ConfigError } from "../../src/errors.js";
import { Step } from "../../src/steps/catalogue.js";
import { StageBarrierError } from "../../src/steps/step-2-1-plan-staging-to-datalake.js";
import { createTestContext, ordersConfig, readLake } from "../support/orders-project.js";
import { lambdaEnvironment, lambdaProject } from "./lambda-fixture.js";

let restore: (() => void) | undefined;
afterEach(async () => {
  await closeLambdaRuntimes();
  restore?.();
  restore = undefined;
});

async function todoItems(result: TodoActionResult, storage: { get(uri: string): Promise<Buffer> }) {
  expect(result.uri).toBe(`s3://${result.bucket}/${result.key}`);
  const items = JSON.parse((await storage.get(result.uri)).toString("utf8")) as Array<Record<string, string>>;
  expect(items).toHaveLength(result.count);
  return items;
}

async function runGroupStep(step: string, storage: { get(uri: string): Promise<Buffer> }) {
  const todo = (await handler({ action: "todo", step })) as TodoActionResult;
  const items = await todoItems(todo, storage);
  // Each Map item becomes one invocation, with the item's fields as the event.
  const results = await Promise.all(items.map((item) => handler({ action: "task", ...item })));
  return { todo, items, results: results as TaskActionResult[] };
}

describe("Lambda handler on s3rver + dynalite", () => {
  it("runs the whole workflow one invocation at a time, as the state machine drives it, and the lake validates", async () => {
    const { context, config, projectId, snapshot } = await lambdaProject({
      rows: 12_000,
      targetFileGroupSize: 60_000,
    });
    restore = lambdaEnvironment({ SNAPLAKE_CONFIG: JSON.stringify(config) });

    const manifest = await handler({ action: "step", step: Step.manifest, projectId });
    expect(manifest).toMatchObject({
      outcome: "succeeded",
      summary: { files: 4, bytes: expect.any(Number), fingerprint: expect.any(String) },
    });
    const plan1 = await handler({ action: "step", step: Step.planSnapshotToStaging, projectId });
    const groups = (plan1 as StepActionResult).summary.groups as number;
    expect(groups).toBeGreaterThan(1);

    const stage1 = await runGroupStep(Step.snapshotToStaging, context.storage);
    expect(stage1.todo.count).toBe(groups);
    expect(stage1.items[0]).toEqual({ projectId, step: Step.snapshotToStaging, taskId: expect.any(String) });
    expect(stage1.results.map((r) => r.outcome)).toEqual(stage1.items.map(() => "succeeded"));

    const plan2 = await handler({ action: "step", step: Step.planStagingToDatalake, projectId });
    expect(plan2).toMatchObject({ outcome: "succeeded", summary: { partitions: 2 } });
    const stage2 = await runGroupStep(Step.stagingToDatalake, context.storage);
    expect(stage2.todo.count).toBeGreaterThanOrEqual(2);
    expect(stage2.results.every((r) => r.outcome === "succeeded")).toBe(true);

    const validation = await handler({ action: "step", step: Step.validate, projectId });
    expect(validation).toMatchObject({ outcome: "succeeded", summary: { ok: true, rows: snapshot.rows } });
    const lake = await readLake(context.storage, config.datalakeUri as string);
    expect(lake.reduce((sum, f) => sum + f.frame.height, 0)).toBe(snapshot.rows);
    // The config's lake is hive: step 4 has nothing to commit, and says so.
    const commit = await handler({ action: "step", step: Step.commit, projectId });
    expect(commit).toMatchObject({ outcome: "succeeded", summary: { format: "hive", committed: false } });

    // A Map item delivered again (or a re-run execution) finds its task done: reported, not thrown.
    const again = (await handler({ action: "task", ...stage1.items[0] })) as TaskActionResult;
    expect(again).toMatchObject({ outcome: "not_claimable", status: "succeeded" });
    // Nothing left to do: the next todo list is empty.
    expect(
      ((await handler({ action: "todo", step: Step.snapshotToStaging })) as TodoActionResult).count,
    ).toBe(0);
    // Every invocation reused one runtime.
    expect(cachedProjectCount()).toBe(1);
  }, 120_000);

  it("a failing task throws TaskFailedError, then TaskAttemptsExhaustedError, naming the task and the file; a held task is reported; plan 2 refuses", async () => {
    const { context, config, projectId, snapshot } = await lambdaProject({
      rows: 16_000,
      files: 4,
      maxAttempts: 2,
      targetFileGroupSize: 40_000,
    });
    const corrupt = snapshot.uris[2]!;
    await context.storage.put(corrupt, Buffer.from("PAR1 not parquet PAR1"));
    restore = lambdaEnvironment({ SNAPLAKE_CONFIG: JSON.stringify(config) });
    await handler({ action: "step", step: Step.planSnapshotToStaging, projectId });
    const todo = (await handler({ action: "todo", step: Step.snapshotToStaging })) as TodoActionResult;
    const items = await todoItems(todo, context.storage);
    expect(items.length).toBeGreaterThanOrEqual(3);

    // Another worker holds one task (one without the corrupt file): the invocation says so and returns.
    const groupFiles = async (taskId: string) => {
      const task = await context.tracker.get(projectId, Step.snapshotToStaging, taskId);
      return (await context.storage.get(task!.input.groupUri as string)).toString("utf8");
    };
    let held = items[0]!;
    for (const item of items) if (!(await groupFiles(item.taskId!)).includes(corrupt)) held = item;
    expect(await groupFiles(held.taskId!)).not.toContain(corrupt);
    const lease = await context.tracker.claim(projectId, Step.snapshotToStaging, held.taskId!);
    expect(lease).toBeDefined();

    const outcomes = await Promise.all(
      items.map((item) => handler({ action: "task", ...item }).catch((error: unknown) => error)),
    );
    expect(outcomes[items.indexOf(held)]).toMatchObject({ outcome: "not_claimable", status: "in_progress" });
    const failures = outcomes.filter((o): o is TaskFailedError => o instanceof Error);
    expect(failures).toHaveLength(1);
    const first = failures[0]!;
    expect(first).toBeInstanceOf(TaskFailedError);
    expect(first).not.toBeInstanceOf(TaskAttemptsExhaustedError);
    expect(first.name).toBe("TaskFailedError"); // what Lambda reports as the error type
    expect(first.message).toContain(first.taskId);
    expect(first.message).toContain(corrupt);
    expect(first.message).toContain("attempt 1/2");

    const event = { action: "task", step: Step.snapshotToStaging, taskId: first.taskId };
    const second = await handler(event).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(TaskAttemptsExhaustedError);
    expect((second as Error).name).toBe("TaskAttemptsExhaustedError");
    expect((second as Error).message).toContain("attempt 2/2");
    expect((second as Error).message).toContain(corrupt);
    // Out of attempts: every further delivery fails the same way, without running anything.
    await expect(handler(event)).rejects.toBeInstanceOf(TaskAttemptsExhaustedError);

    const plan2 = await handler({ action: "step", step: Step.planStagingToDatalake }).catch(
      (e: unknown) => e,
    );
    expect(plan2).toBeInstanceOf(StageBarrierError);
    expect((plan2 as Error).message).toContain(first.taskId);
    expect((plan2 as Error).message).toContain(held.taskId);
  }, 120_000);

  it("rejects malformed events naming the field, before touching any config", async () => {
    restore = lambdaEnvironment({});
    const cases: Array<[unknown, string]> = [
      [{ action: "task", step: Step.snapshotToStaging }, "taskId"],
      [{ action: "step", step: Step.snapshotToStaging }, "step"],
      [{ action: "todo", step: Step.validate }, "step"],
      [{ action: "compact" }, "action"],
      [{ action: "step", step: Step.manifest, tableName: "x" }, "tableName"],
      ["not an object", "expected object"],
    ];
    for (const [event, field] of cases) {
      const error = await handler(event).catch((e: unknown) => e);
      expect(error, JSON.stringify(event)).toBeInstanceOf(InvalidEventError);
      expect((error as Error).message).toContain(field);
    }
  });

  it("reads the config from SNAPLAKE_CONFIG_URI through the storage layer, refuses a project mismatch, and reloads when the config changes", async () => {
    const { context, config, projectId } = await lambdaProject({ rows: 4_000, files: 2 });
    const configUri = `${context.root}config/project.json`;
    await context.storage.put(configUri, JSON.stringify(config));
    restore = lambdaEnvironment({
      SNAPLAKE_CONFIG_URI: configUri,
      AWS_ENDPOINT_URL_S3: (config.aws as { s3Endpoint: string }).s3Endpoint,
    });
    const manifest = await handler({ action: "step", step: Step.manifest, projectId });
    expect(manifest).toMatchObject({ summary: { files: 2 } });

    const mismatch = await handler({ action: "step", step: Step.manifest, projectId: "other" }).catch(
      (e: unknown) => e,
    );
    expect(mismatch).toBeInstanceOf(InvalidEventError);
    expect((mismatch as Error).message).toContain(`projectId: the event is for project other`);
    expect(cachedProjectCount()).toBe(1);

    // An event's configUri overrides the environment and gets its own warm project.
    const copyUri = `${context.root}config/copy.json`;
    await context.storage.put(copyUri, JSON.stringify(config));
    await handler({ action: "step", step: Step.manifest, configUri: copyUri });
    expect(cachedProjectCount()).toBe(2);
  }, 60_000);

  it("names what is wrong with the Lambda's config, without echoing its values", async () => {
    restore = lambdaEnvironment({});
    const event = { action: "step", step: Step.manifest };
    const missing = await handler(event).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toContain("SNAPLAKE_CONFIG or SNAPLAKE_CONFIG_URI");

    process.env.SNAPLAKE_CONFIG = '{"projectId": "x", "aws": {"secretAccessKey": "wJalrXUtnFEMI/K7MDENG"';
    const notJson = await handler(event).catch((e: unknown) => e);
    expect((notJson as Error).message).toBe(
      "SNAPLAKE_CONFIG is invalid: not valid JSON at line 1 (CloseBraceExpected)",
    );

    const context = await createTestContext("local");
    const valid = ordersConfig(context);
    process.env.SNAPLAKE_CONFIG = JSON.stringify({
      ...valid,
      aws: { secretAccessKey: "wJalrXUtnFEMI/K7MDENG" },
    });
    const unknownKey = await handler(event).catch((e: unknown) => e);
    expect(unknownKey).toBeInstanceOf(ConfigError);
    expect((unknownKey as Error).message).toContain("secretAccessKey");
    expect((unknownKey as Error).message).not.toContain("wJalrXUtnFEMI");

    // The file `snaplake init` writes has comments: the Lambda reads it as the CLI does.
    process.env.SNAPLAKE_CONFIG = `// the project\n${JSON.stringify(valid, null, 2)}`;
    const noTable = await handler(event).catch((e: unknown) => e);
    expect((noTable as Error).message).toContain("tracker.tableName: required on Lambda");

    // The todo list must be in S3, where the Map's ItemReader can read it.
    process.env.SNAPLAKE_CONFIG = JSON.stringify({
      ...valid,
      tracker: { tableName: context.tableName },
      aws: { dynamodbEndpoint: context.dynamoEndpoint },
    });
    const local = await handler({ action: "todo", step: Step.snapshotToStaging }).catch((e: unknown) => e);
    expect(local).toBeInstanceOf(ConfigError);
    expect((local as Error).message).toContain("stagingUri: must be an s3:// URI");

    process.env.SNAPLAKE_CONFIG_URI = "s3://somewhere/config.json";
    const both = await handler(event).catch((e: unknown) => e);
    expect((both as Error).message).toContain("set only one");
  }, 60_000);
});
