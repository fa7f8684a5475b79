/**
 * A small in-process interpreter for the States Language subset buildStateMachine emits (JSONPath
 * Parameters/ResultSelector/ResultPath, Lambda Task states, Distributed Maps reading a JSON list from S3,
 * Retry and Catch, Fail/Succeed/End). It runs a generated definition against the real Lambda handler and
 * the real S3 (s3rver), so a test can check the ASL and the handler fit together: the payloads the states
 * build are the ones the handler accepts, the ItemReader finds the list the todo action wrote, errors
 * route the way Retry/Catch say. Retry intervals are recorded, not slept.
 */
import pLimit from "p-limit";
import type { Storage } from "../../src/storage/types.js";

type Json = Record<string, unknown>;

export interface RunnerOptions {
  lambdaArn: string;
  invoke: (payload: unknown) => Promise<unknown>;
  storage: Storage;
  /** Items run at a time per Map (the real service runs MaxConcurrency). */
  mapConcurrency?: number;
}

export interface TraceEntry {
  state: string;
  event: "entered" | "retry" | "caught" | "failed" | "succeeded";
  error?: string;
  intervalSeconds?: number;
}

export type Execution =
  | { status: "SUCCEEDED"; output: Json; trace: TraceEntry[] }
  | { status: "FAILED"; error: string; cause: string; trace: TraceEntry[] };

class StatesError extends Error {
  constructor(
    readonly error: string,
    readonly causeText: string,
  ) {
    super(`${error}: ${causeText}`);
  }
}

function readPath(path: string, input: unknown, context: Json): unknown {
  if (path.startsWith("States.")) throw new Error(`intrinsic functions are not simulated: ${path}`);
  const [root, rest] = path.startsWith("$$") ? [context, path.slice(2)] : [input, path.slice(1)];
  let value: unknown = root;
  for (const part of rest.split(".").filter(Boolean)) {
    if (value === null || typeof value !== "object" || !(part in (value as Json)))
      throw new StatesError("States.Runtime", `path ${path} not found in the state's input`);
    value = (value as Json)[part];
  }
  return value;
}

function resolve(template: unknown, input: unknown, context: Json): unknown {
  if (Array.isArray(template)) return template.map((v) => resolve(v, input, context));
  if (!template || typeof template !== "object") return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    if (key.endsWith(".$")) out[key.slice(0, -2)] = readPath(value as string, input, context);
    else out[key] = resolve(value, input, context);
  }
  return out;
}

function writePath(input: unknown, path: string | null | undefined, result: unknown): unknown {
  if (path === null) return input;
  if (path === undefined || path === "$") return result;
  const parts = path.slice(2).split(".");
  const out: Json = { ...(input as Json) };
  let node = out;
  for (const part of parts.slice(0, -1)) {
    node[part] = { ...((node[part] as Json) ?? {}) };
    node = node[part] as Json;
  }
  node[parts.at(-1)!] = result;
  return out;
}

function matches(errorEquals: string[], error: string): boolean {
  return errorEquals.some(
    (e) => e === error || e === "States.ALL" || (e === "States.TaskFailed" && error !== "States.Timeout"),
  );
}

export class AslRunner {
  readonly trace: TraceEntry[] = [];
  constructor(private readonly options: RunnerOptions) {}

  async execute(definition: Json, input: Json = {}): Promise<Execution> {
    try {
      const output = (await this.run(definition, input, {}, "")) as Json;
      return { status: "SUCCEEDED", output, trace: this.trace };
    } catch (error) {
      if (!(error instanceof StatesError)) throw error;
      return { status: "FAILED", error: error.error, cause: error.causeText, trace: this.trace };
    }
  }

  private async run(machine: Json, input: unknown, context: Json, scope: string): Promise<unknown> {
    const states = machine.States as Record<string, Json>;
    let name = machine.StartAt as string;
    let data = input;
    for (;;) {
      const state = states[name];
      if (!state) throw new Error(`no state ${name}`);
      const label = `${scope}${name}`;
      this.trace.push({ state: label, event: "entered" });
      if (state.Type === "Succeed") return data;
      if (state.Type === "Fail") {
        const error = state.ErrorPath ? readPath(state.ErrorPath as string, data, context) : state.Error;
        const cause = state.CausePath ? readPath(state.CausePath as string, data, context) : state.Cause;
        this.trace.push({ state: label, event: "failed", error: String(error) });
        throw new StatesError(String(error), String(cause ?? ""));
      }
      let result: unknown;
      try {
        result = await this.withRetry(state, label, () => this.attempt(state, data, context, label));
      } catch (error) {
        if (!(error instanceof StatesError)) throw error;
        const catcher = ((state.Catch as Json[] | undefined) ?? []).find((c) =>
          matches(c.ErrorEquals as string[], error.error),
        );
        if (!catcher) throw error;
        this.trace.push({ state: label, event: "caught", error: error.error });
        data = writePath(data, catcher.ResultPath as string | null | undefined, {
          Error: error.error,
          Cause: error.causeText,
        });
        name = catcher.Next as string;
        continue;
      }
      this.trace.push({ state: label, event: "succeeded" });
      const selected = state.ResultSelector ? resolve(state.ResultSelector, result, context) : result;
      data = writePath(data, state.ResultPath as string | null | undefined, selected);
      if (state.OutputPath) data = readPath(state.OutputPath as string, data, context);
      if (state.End === true) return data;
      name = state.Next as string;
    }
  }

  private async withRetry<T>(state: Json, label: string, fn: () => Promise<T>): Promise<T> {
    const used = new Map<Json, number>();
    for (;;) {
      try {
        return await fn();
      } catch (error) {
        if (!(error instanceof StatesError)) throw error;
        // The first retrier whose ErrorEquals matches decides, as in Step Functions.
        const retrier = ((state.Retry as Json[] | undefined) ?? []).find((r) =>
          matches(r.ErrorEquals as string[], error.error),
        );
        if (!retrier) throw error;
        const count = used.get(retrier) ?? 0;
        const max = (retrier.MaxAttempts as number | undefined) ?? 3;
        if (count >= max) throw error;
        used.set(retrier, count + 1);
        const interval =
          ((retrier.IntervalSeconds as number | undefined) ?? 1) *
          ((retrier.BackoffRate as number | undefined) ?? 2) ** count;
        this.trace.push({ state: label, event: "retry", error: error.error, intervalSeconds: interval });
      }
    }
  }

  private async attempt(state: Json, data: unknown, context: Json, label: string): Promise<unknown> {
    if (state.Type === "Task") return this.invokeLambda(state, data, context);
    if (state.Type === "Map") return this.runMap(state, data, context, label);
    throw new Error(`state type ${String(state.Type)} is not simulated`);
  }

  private async invokeLambda(state: Json, data: unknown, context: Json): Promise<unknown> {
    if (state.Resource !== "arn:aws:states:::lambda:invoke") throw new Error(`resource ${state.Resource}`);
    const parameters = resolve(state.Parameters, data, context) as Json;
    if (parameters.FunctionName !== this.options.lambdaArn)
      throw new Error(`invokes ${parameters.FunctionName}, not the snaplake Lambda`);
    // The payload crosses a JSON boundary, both ways.
    const payload = JSON.parse(JSON.stringify(parameters.Payload));
    try {
      const result = await this.options.invoke(payload);
      return { StatusCode: 200, Payload: JSON.parse(JSON.stringify(result)) };
    } catch (error) {
      // Lambda reports a thrown error's name as its type; Step Functions uses it as the error name.
      const e = error as Error;
      throw new StatesError(e.name, JSON.stringify({ errorType: e.name, errorMessage: e.message }));
    }
  }

  private async runMap(state: Json, data: unknown, context: Json, label: string): Promise<unknown> {
    const reader = state.ItemReader as Json;
    const where = resolve(reader.Parameters, data, context) as { Bucket: string; Key: string };
    let items: unknown;
    try {
      items = JSON.parse(
        (await this.options.storage.get(`s3://${where.Bucket}/${where.Key}`)).toString("utf8"),
      );
    } catch (error) {
      throw new StatesError("States.ItemReaderFailed", (error as Error).message);
    }
    if (!Array.isArray(items)) throw new StatesError("States.ItemReaderFailed", "the JSON is not an array");
    const writer = resolve((state.ResultWriter as Json).Parameters, data, context) as Json;
    if (typeof writer.Bucket !== "string" || typeof writer.Prefix !== "string")
      throw new StatesError("States.ResultWriterFailed", "Bucket and Prefix must be strings");

    const processor = state.ItemProcessor as Json;
    const limit = pLimit(Math.min(this.options.mapConcurrency ?? 4, (state.MaxConcurrency as number) || 4));
    const outcomes = await Promise.all(
      items.map((value, index) =>
        limit(async () => {
          const itemContext = { ...context, Map: { Item: { Value: value, Index: index } } };
          const childInput = state.ItemSelector ? resolve(state.ItemSelector, data, itemContext) : value;
          try {
            return {
              ok: true as const,
              output: await this.run(processor, childInput, itemContext, `${label}/`),
            };
          } catch (error) {
            if (!(error instanceof StatesError)) throw error;
            return { ok: false as const, error };
          }
        }),
      ),
    );
    const failed = outcomes.filter((o) => !o.ok);
    const tolerated = (state.ToleratedFailurePercentage as number | undefined) ?? 0;
    if (items.length > 0 && (failed.length / items.length) * 100 > tolerated) {
      throw new StatesError(
        "States.ExceedToleratedFailureThreshold",
        `${failed.length} of ${items.length} items failed; first: ${failed[0]!.ok ? "" : failed[0]!.error.message}`,
      );
    }
    return {
      MapRunArn: "arn:aws:states:local:000000000000:mapRun:simulated",
      ResultWriterDetails: { Bucket: writer.Bucket, Key: `${writer.Prefix}/manifest.json` },
    };
  }
}
