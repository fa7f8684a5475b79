/**
 * The step catalogue is the one place a step is defined: the CLI's step names and help, `status`, the
 * Lambda's events, the state machine and the recorded settings all follow it. Each check below walks the
 * catalogue, so a step added there shows up everywhere (or one of these fails naming the place that
 * didn't follow).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lambdaEventSchema } from "../../src/aws/lambda.js";
import { type AslTaskState, buildStateMachine } from "../../src/aws/state-machine.js";
import {
  GROUP_STEPS,
  SINGLE_TASK_STEPS,
  STEP_CATALOGUE,
  Step,
  type StepDefinition,
  stepNames,
  TaskDataInvalidError,
} from "../../src/steps/catalogue.js";
import { firstStepOf, RECORDED_SETTINGS } from "../../src/steps/settings.js";
import { snaplake } from "../support/cli.js";
import { OrdersProject, ordersConfig, testContexts } from "../support/orders-project.js";
import { tempDir } from "../support/temp-dir.js";

const catalogue: readonly StepDefinition[] = STEP_CATALOGUE;
const testContext = testContexts();
const LAMBDA_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:snaplake";

/**
 * `snaplake init`'s config in a fresh folder: a project nothing has run yet, on the embedded tracker. The
 * commands here run in this process (they only parse, answer and print; the binary itself is tested elsewhere).
 */
async function freshProject(): Promise<string> {
  const config = join(tempDir("snaplake-catalogue-"), "snaplake.config.jsonc");
  expect((await snaplake(["init", "--output", config])).code).toBe(0);
  return config;
}

describe("the step catalogue", () => {
  it("gives each step one id, number and name; step 2.3 is 'compact', its tracker id unchanged", () => {
    for (const key of ["id", "number", "name"] as const) {
      const values = catalogue.map((s) => s[key]);
      expect(new Set(values).size, key).toBe(values.length);
    }
    const names = stepNames().map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Step.compact).toBe("2.3-staging-to-datalake");
    expect(Step.stagingToDatalake).toBe(Step.compact);
    expect(catalogue.find((s) => s.id === Step.compact)).toMatchObject({ number: "2.3", name: "compact" });
  });

  it("`snaplake step --help` lists every step by number and name, group steps after their todo listing", async () => {
    const help = await snaplake(["step", "--help"]);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, " ");
    const listed = catalogue.flatMap((s) => [
      ...(s.kind === "group" ? [`${s.todoNumber} (list)`] : []),
      `${s.number}|${s.name}`,
    ]);
    expect(text).toContain(`run one step: ${listed.join(", ")}`);
    expect(text).toContain("2.2 (list), 2.3|compact, 3|validate");
  });

  it("`snaplake status --json` counts every catalogue step, in its order", async () => {
    const config = await freshProject();
    const status = await snaplake(["status", "--config", config, "--json"]);
    expect(status.code).toBe(0);
    expect(Object.keys(JSON.parse(status.stdout).steps)).toEqual(catalogue.map((s) => s.id));
  });

  it("`snaplake step` takes a step's number, name, older alias and tracker id; an unknown name lists them", async () => {
    const config = await freshProject();
    for (const name of ["2.3", "compact", "staging-to-datalake", "2.3-staging-to-datalake"]) {
      const result = await snaplake(["step", name, "--config", config]);
      expect(result.code, name).toBe(1);
      expect(result.stderr, name).toContain(
        "step 2.3-staging-to-datalake is not planned yet (it has no tasks): run `snaplake step 2.1`",
      );
    }
    const todo = await snaplake(["step", "2.2", "--config", config, "--json"]);
    expect(todo.code).toBe(0);
    expect(JSON.parse(todo.stdout)).toEqual([]);

    const unknown = await snaplake(["step", "squash", "--config", config]);
    expect(unknown.code).toBe(2);
    for (const step of catalogue) expect(unknown.stderr).toContain(`${step.number}, ${step.name}`);
    expect(unknown.stderr).toContain("staging-to-datalake");
  });

  it("the Lambda takes single-task steps as `step` events and group steps as `todo`/`task` events", () => {
    expect(SINGLE_TASK_STEPS).toEqual(catalogue.filter((s) => s.kind !== "group").map((s) => s.id));
    expect(GROUP_STEPS).toEqual(catalogue.filter((s) => s.kind === "group").map((s) => s.id));
    for (const step of catalogue) {
      const group = step.kind === "group";
      expect(lambdaEventSchema.safeParse({ action: "step", step: step.id }).success, step.id).toBe(!group);
      expect(lambdaEventSchema.safeParse({ action: "todo", step: step.id }).success, step.id).toBe(group);
      expect(
        lambdaEventSchema.safeParse({ action: "task", step: step.id, taskId: "t" }).success,
        step.id,
      ).toBe(group);
    }
  });

  it("the state machine runs the catalogue's steps in its order, each state invoking its step", () => {
    const definition = buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId: "p" });
    const order: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; ) {
      order.push(name);
      name = (definition.States[name] as { Next?: string }).Next;
    }
    const expected = catalogue.flatMap((s) =>
      s.kind === "group" ? [s.state.todo.name, s.state.map.name] : [s.state.name],
    );
    expect(order).toEqual(expected);
    for (const step of catalogue) {
      const name = step.kind === "group" ? step.state.todo.name : step.state.name;
      const state = definition.States[name] as AslTaskState;
      const payload = state.Parameters.Payload as { action: string; step: string };
      expect(payload, name).toMatchObject({ action: step.kind === "group" ? "todo" : "step", step: step.id });
      const waits = step.kind !== "group" && step.state.waitsForStage === true;
      expect(
        state.Retry.some((r) => r.ErrorEquals.includes("StageBarrierError")),
        name,
      ).toBe(waits);
    }
  });

  it("each recorded setting belongs to the step that lists it; a change resets from the first of them", () => {
    const listed = catalogue.flatMap((s) => s.settings.map((setting) => [setting, s.id] as const));
    expect(Object.entries(RECORDED_SETTINGS)).toEqual(listed);
    expect(firstStepOf(["sortBy", "partitionKeys"])).toBe(Step.snapshotToStaging);
    expect(firstStepOf(["compression"])).toBe(Step.compact);
  });

  it("a group task whose input in the tracker lacks a field fails for good at once, naming the task and field", async () => {
    const context = await testContext();
    const project = new OrdersProject(ordersConfig(context), context);
    await context.tracker.createTasks(
      project.projectId,
      Step.compact,
      [{ taskId: "g1", input: { fingerprint: "f", partition: "year=2021", files: 1, estimatedBytes: 1 } }],
      { maxAttempts: 3 },
    );
    const result = await project.processTask(Step.compact, "g1");
    expect(result.outcome).toBe("failed");
    if (result.outcome !== "failed") return;
    expect(result.error).toBeInstanceOf(TaskDataInvalidError);
    expect((result.error as Error).message).toContain("Task g1 of step 2.3-staging-to-datalake");
    expect((result.error as Error).message).toContain("groupUri");
    expect(result.task).toMatchObject({ status: "ignored", attempts: 1 });
  });
});
