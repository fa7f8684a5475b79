import { afterEach, describe, expect, it } from "vitest";
import { closeLambdaRuntimes, handler } from "../../src/aws/lambda.js";
import {
  type AslMapState,
  type AslTaskState,
  buildStateMachine,
  type StateMachineOptions,
  WORKER_LOST_ERRORS,
} from "../../src/aws/state-machine.js";
import { ConfigError } from "../../src/errors.js";
import { Step } from "../../src/steps/catalogue.js";
import { readLake } from "../support/orders-project.js";
import { checkAsl } from "./asl-check.js";
import { AslRunner } from "./asl-runner.js";
import { LAMBDA_ARN, lambdaEnvironment, lambdaProject } from "./lambda-fixture.js";

type Json = Record<string, unknown>;

const definition = buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId: "orders-1" });

function statesOf(machine: { States: Record<string, unknown> }): Array<[string, Json]> {
  return Object.entries(machine.States).flatMap(([name, state]) => {
    const s = state as Json;
    const inner = s.Type === "Map" ? statesOf((s as unknown as AslMapState).ItemProcessor) : [];
    return [[name, s] as [string, Json], ...inner];
  });
}

describe("buildStateMachine: the ASL's structure", () => {
  it("is sound: transitions resolve, every path ends, nothing unreachable, every Lambda state retries and catches", () => {
    expect(checkAsl(JSON.parse(JSON.stringify(definition)))).toEqual([]);
    const tasks = statesOf(definition).filter(([, s]) => s.Type === "Task");
    expect(tasks).toHaveLength(9); // 5 steps, 2 todo lists, 1 task per Map item (×2)
    for (const [name, state] of tasks) {
      const task = state as unknown as AslTaskState;
      expect(task.Resource, name).toBe("arn:aws:states:::lambda:invoke");
      expect(task.Parameters.FunctionName, name).toBe(LAMBDA_ARN);
      const errors = task.Retry.flatMap((r) => r.ErrorEquals);
      expect(errors, name).toEqual(
        expect.arrayContaining([
          "Lambda.ServiceException",
          "Lambda.TooManyRequestsException",
          "States.TaskFailed",
        ]),
      );
      // Retrying after a dead worker waits out its lease (default 300 s) so the retry can take the task over.
      const lost = task.Retry.find((r) => r.ErrorEquals.includes(WORKER_LOST_ERRORS[0]!))!;
      expect(lost.IntervalSeconds, name).toBeGreaterThan(300);
      for (const retrier of task.Retry.filter((r) => (r.MaxAttempts ?? 3) > 1))
        expect(retrier.BackoffRate ?? 2, name).toBeGreaterThan(1);
      expect(task.Catch[0]!.ErrorEquals, name).toEqual(["States.ALL"]);
    }
    // The order of the workflow, top level.
    const order: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; ) {
      order.push(name);
      name = (definition.States[name] as { Next?: string }).Next;
    }
    expect(order).toEqual([
      "Manifest",
      "PlanSnapshotToStaging",
      "ListSnapshotGroupsTodo",
      "ProcessSnapshotGroups",
      "PlanStagingToDatalake",
      "ListPartitionGroupsTodo",
      "ProcessPartitionGroups",
      "Validate",
      "Commit",
    ]);
    // Only plan 2 waits on the stage barrier.
    const barrierStates = statesOf(definition).filter(([, s]) =>
      ((s.Retry as Array<{ ErrorEquals: string[] }> | undefined) ?? []).some((r) =>
        r.ErrorEquals.includes("StageBarrierError"),
      ),
    );
    expect(barrierStates.map(([name]) => name)).toEqual(["PlanStagingToDatalake"]);
  });

  it("each Map reads the list its todo state wrote, and invokes one task per item", () => {
    for (const [mapName, todoName, step] of [
      ["ProcessSnapshotGroups", "ListSnapshotGroupsTodo", Step.snapshotToStaging],
      ["ProcessPartitionGroups", "ListPartitionGroupsTodo", Step.stagingToDatalake],
    ] as const) {
      const todo = definition.States[todoName] as AslTaskState;
      const map = definition.States[mapName] as AslMapState;
      expect(todo.Next).toBe(mapName);
      expect(todo.Parameters.Payload).toMatchObject({ action: "todo", step, projectId: "orders-1" });
      // The todo action's bucket and key land at the todo state's ResultPath, where the reader looks.
      expect(todo.ResultSelector).toMatchObject({ "bucket.$": "$.Payload.bucket", "key.$": "$.Payload.key" });
      expect(map.ItemReader).toEqual({
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "JSON" },
        Parameters: { "Bucket.$": `${todo.ResultPath}.bucket`, "Key.$": `${todo.ResultPath}.key` },
      });
      expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });
      expect(map.ItemSelector).toEqual({
        action: "task",
        "projectId.$": "$$.Map.Item.Value.projectId",
        "step.$": "$$.Map.Item.Value.step",
        "taskId.$": "$$.Map.Item.Value.taskId",
      });
      expect(map.ToleratedFailurePercentage).toBe(0);
      expect(map.MaxConcurrency).toBe(50);
      expect(map.ResultWriter.Parameters).toEqual({
        "Bucket.$": `${todo.ResultPath}.bucket`,
        "Prefix.$": `${todo.ResultPath}.resultsPrefix`,
      });
      const item = map.ItemProcessor.States[map.ItemProcessor.StartAt] as AslTaskState;
      expect(item.Parameters).toEqual({ FunctionName: LAMBDA_ARN, "Payload.$": "$" });
      expect(item.Retry.some((r) => r.ErrorEquals.includes("TaskFailedError"))).toBe(true);
      // A task out of attempts is never retried: the first matching retrier allows no attempt.
      const exhausted = item.Retry.find((r) => r.ErrorEquals.includes("TaskAttemptsExhaustedError"));
      expect(exhausted?.MaxAttempts).toBe(0);
      expect(item.Retry.indexOf(exhausted!)).toBe(0);
    }
  });

  it("takes options: concurrency, tolerated failures, a literal bucket, the config URI", () => {
    const custom = buildStateMachine({
      lambdaArn: `${LAMBDA_ARN}:live`,
      projectId: "orders-1",
      maxConcurrency: 200,
      toleratedFailurePercentage: 5,
      todoBucket: "staging-bucket",
      configUri: "s3://config-bucket/orders.json",
      leaseSeconds: 120,
    });
    expect(checkAsl(custom as unknown as Json)).toEqual([]);
    const map = custom.States.ProcessSnapshotGroups as AslMapState;
    expect(map.MaxConcurrency).toBe(200);
    expect(map.ToleratedFailurePercentage).toBe(5);
    expect(map.ItemReader.Parameters).toEqual({
      Bucket: "staging-bucket",
      "Key.$": "$.snapshotGroupsTodo.key",
    });
    expect(map.ItemSelector.configUri).toBe("s3://config-bucket/orders.json");
    const manifest = custom.States.Manifest as AslTaskState;
    expect(manifest.Parameters.Payload).toMatchObject({ configUri: "s3://config-bucket/orders.json" });
    const lost = manifest.Retry.find((r) => r.ErrorEquals.includes("Lambda.Unknown"))!;
    expect(lost.IntervalSeconds).toBeGreaterThan(120);
    expect(lost.IntervalSeconds).toBeLessThan(300);
  });

  it("refuses bad options naming the field", () => {
    expect(() => buildStateMachine({ lambdaArn: "my-function", projectId: "p" })).toThrow(
      /lambdaArn: not a Lambda function ARN/,
    );
    expect(() => buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId: "p", maxConcurrency: 0 })).toThrow(
      ConfigError,
    );
    expect(() =>
      buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId: "p", toleratedFailurePercentage: 120 }),
    ).toThrow(/toleratedFailurePercentage/);
  });

  it("the checker itself catches broken definitions", () => {
    const broken = JSON.parse(JSON.stringify(definition)) as { States: Record<string, Json> };
    delete broken.States.Validate;
    broken.States.Orphan = { Type: "Succeed" };
    delete broken.States.Manifest!.Retry;
    (broken.States.ProcessSnapshotGroups!.ItemReader as Json).ReaderConfig = { InputType: "CSV" };
    broken.States.Loop = {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Next: "Loop",
      Retry: [{ ErrorEquals: ["States.ALL"] }],
      Catch: [{ ErrorEquals: ["States.ALL"], Next: "Loop" }],
    };
    const problems = checkAsl(broken as unknown as Json);
    expect(problems).toEqual(
      expect.arrayContaining([
        "MISSING_TRANSITION_TARGET: Missing 'StartAt'|'Next'|'Default' target: Validate",
        "MISSING_TRANSITION_TARGET: State Orphan is not reachable",
        "root.Manifest: no Retry",
        "root.ProcessSnapshotGroups: ItemReader must read JSON",
        "root.Loop: never reaches an end",
      ]),
    );
  });

  it("the checker refuses a state name used twice, even in two Maps' item processors", () => {
    const twice = JSON.parse(JSON.stringify(definition)) as { States: Record<string, AslMapState> };
    const [first, second] = [twice.States.ProcessSnapshotGroups!, twice.States.ProcessPartitionGroups!];
    const name = first.ItemProcessor.StartAt;
    second.ItemProcessor.States = { [name]: second.ItemProcessor.States[second.ItemProcessor.StartAt]! };
    second.ItemProcessor.StartAt = name;
    expect(checkAsl(twice as unknown as Json)).toContain(
      `DUPLICATE_STATE_NAMES: A state with this name already exists: ${name}`,
    );
  });
});

describe("buildStateMachine: every variant is a definition Step Functions accepts", () => {
  const variants: Array<[string, StateMachineOptions]> = [
    ["the defaults", { lambdaArn: LAMBDA_ARN, projectId: "orders-1" }],
    [
      "a Lambda alias, a literal bucket, a config URI, a task timeout, a short lease",
      {
        lambdaArn: `${LAMBDA_ARN}:live`,
        projectId: "orders-1",
        todoBucket: "staging-bucket",
        configUri: "s3://config-bucket/orders.json",
        taskTimeoutSeconds: 900,
        leaseSeconds: 120,
        maxConcurrency: 1000,
        comment: "orders on Step Functions",
      },
    ],
    [
      "tolerant Maps with EXPRESS children, no task or barrier retries",
      {
        lambdaArn: LAMBDA_ARN,
        projectId: "orders-1",
        toleratedFailurePercentage: 100,
        childExecutionType: "EXPRESS",
        taskRetries: 0,
        barrierRetries: 0,
      },
    ],
  ];

  it.each(variants)("%s: asl-validator and the checks beyond it find nothing", (_, options) => {
    const machine = buildStateMachine(options);
    expect(checkAsl(JSON.parse(JSON.stringify(machine)))).toEqual([]);
    // Unique across the whole machine, not only within each States object.
    const names = statesOf(machine).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("the generated state machine, executed against the Lambda handler on s3rver + dynalite", () => {
  let restore: (() => void) | undefined;
  afterEach(async () => {
    await closeLambdaRuntimes();
    restore?.();
  });

  it("runs the workflow end to end and the lake validates", async () => {
    const { context, config, projectId, snapshot } = await lambdaProject({
      rows: 8_000,
      files: 3,
      targetFileGroupSize: 50_000,
    });
    restore = lambdaEnvironment({ SNAPLAKE_CONFIG: JSON.stringify(config) });
    const asl = JSON.parse(JSON.stringify(buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId })));
    const runner = new AslRunner({
      lambdaArn: LAMBDA_ARN,
      invoke: (p) => handler(p),
      storage: context.storage,
    });

    const execution = await runner.execute(asl, { requestedBy: "test" });
    expect(execution.status, JSON.stringify(execution)).toBe("SUCCEEDED");
    if (execution.status !== "SUCCEEDED") return;
    const output = execution.output as Record<string, Json>;
    expect(output.requestedBy).toBe("test");
    expect(output.validation).toEqual({
      outcome: "succeeded",
      summary: expect.objectContaining({ ok: true, rows: snapshot.rows }),
    });
    // Commit runs after validation; this config's lake is hive, so there is nothing to commit.
    expect(output.commit).toMatchObject({
      outcome: "succeeded",
      summary: { format: "hive", committed: false },
    });
    const items = execution.trace.filter(
      (t) => t.state === "ProcessSnapshotGroups/ProcessSnapshotGroup" && t.event === "succeeded",
    );
    expect(items).toHaveLength((output.snapshotGroupsTodo as { count: number }).count);
    expect(items.length).toBeGreaterThan(1);
    // Small outputs: the whole execution state stays far below Step Functions' 256 KiB.
    expect(JSON.stringify(output).length).toBeLessThan(8_000);
    const lake = await readLake(context.storage, config.datalakeUri as string);
    expect(lake.reduce((sum, f) => sum + f.frame.height, 0)).toBe(snapshot.rows);
  }, 120_000);

  it("a task that keeps failing is retried, then fails the Map and the execution; tolerated, plan 2 stops at the barrier", async () => {
    const { context, config, projectId, snapshot } = await lambdaProject({
      rows: 8_000,
      files: 3,
      maxAttempts: 2,
      targetFileGroupSize: 30_000,
    });
    const corrupt = snapshot.uris[1]!;
    await context.storage.put(corrupt, Buffer.from("PAR1 not parquet PAR1"));
    restore = lambdaEnvironment({ SNAPLAKE_CONFIG: JSON.stringify(config) });
    const runner = () =>
      new AslRunner({ lambdaArn: LAMBDA_ARN, invoke: (p) => handler(p), storage: context.storage });

    const strict = await runner().execute(
      JSON.parse(JSON.stringify(buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId }))),
    );
    expect(strict.status).toBe("FAILED");
    if (strict.status !== "FAILED") return;
    expect(strict.error).toBe("States.ExceedToleratedFailureThreshold");
    expect(strict.cause).toContain(corrupt);
    // The item's first failure was retried (TaskFailedError), the second was final (out of attempts).
    const itemEvents = strict.trace.filter((t) => t.state === "ProcessSnapshotGroups/ProcessSnapshotGroup");
    expect(itemEvents.filter((t) => t.event === "retry").map((t) => t.error)).toEqual(["TaskFailedError"]);
    expect(itemEvents.some((t) => t.event === "caught" && t.error === "TaskAttemptsExhaustedError")).toBe(
      true,
    );
    expect(strict.trace.at(-1)).toMatchObject({ state: "WorkflowFailed", event: "failed" });
    const [failed] = await context.tracker.failures(projectId, Step.snapshotToStaging);
    expect(failed).toMatchObject({ status: "ignored", attempts: 2 });

    // Tolerating failures lets the Map finish; planning step 2 then refuses (after its barrier retries).
    const tolerant = buildStateMachine({
      lambdaArn: LAMBDA_ARN,
      projectId,
      toleratedFailurePercentage: 100,
      barrierRetries: 1,
    });
    const second = await runner().execute(JSON.parse(JSON.stringify(tolerant)));
    expect(second.status).toBe("FAILED");
    if (second.status !== "FAILED") return;
    expect(second.error).toBe("StageBarrierError");
    expect(second.cause).toContain(failed!.taskId);
    expect(
      second.trace.filter((t) => t.state === "PlanStagingToDatalake" && t.event === "retry"),
    ).toHaveLength(1);
  }, 120_000);
});
