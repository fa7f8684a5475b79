/**
 * Structural checks of a States Language definition, the ones Step Functions' validator would reject or
 * a reviewer would flag: dangling transitions, states that never end, unreachable states, Lambda states
 * without Retry/Catch, malformed Distributed Map readers. Returns the problems found (empty when sound).
 */

type Json = Record<string, unknown>;

const FLOW_TYPES = new Set(["Task", "Map", "Pass", "Wait", "Parallel"]);
const TERMINAL_TYPES = new Set(["Succeed", "Fail"]);

function transitions(state: Json): string[] {
  const out: string[] = [];
  if (typeof state.Next === "string") out.push(state.Next);
  if (typeof state.Default === "string") out.push(state.Default);
  for (const c of (state.Catch as Json[] | undefined) ?? []) out.push(c.Next as string);
  for (const c of (state.Choices as Json[] | undefined) ?? []) out.push(c.Next as string);
  return out;
}

function checkPaths(value: unknown, where: string, problems: string[]): void {
  if (!value || typeof value !== "object") return;
  for (const [key, v] of Object.entries(value as Json)) {
    if (key.endsWith(".$") && (typeof v !== "string" || !v.startsWith("$")))
      problems.push(`${where}: ${key} must hold a path starting with "$"`);
    checkPaths(v, `${where}.${key}`, problems);
  }
}

function checkRetry(retry: Json[], where: string, problems: string[]): void {
  retry.forEach((r, i) => {
    const errors = r.ErrorEquals as string[];
    if (!Array.isArray(errors) || errors.length === 0) problems.push(`${where}.Retry[${i}]: no ErrorEquals`);
    if (errors?.includes("States.ALL") && (errors.length > 1 || i !== retry.length - 1))
      problems.push(`${where}.Retry[${i}]: States.ALL must be alone and last`);
    if (r.MaxAttempts !== undefined && (!Number.isInteger(r.MaxAttempts) || (r.MaxAttempts as number) < 0))
      problems.push(`${where}.Retry[${i}]: MaxAttempts must be a non-negative integer`);
    if (r.BackoffRate !== undefined && (r.BackoffRate as number) < 1)
      problems.push(`${where}.Retry[${i}]: BackoffRate must be >= 1`);
  });
}

export function checkAsl(definition: Json, scope = "root"): string[] {
  const problems: string[] = [];
  const states = definition.States as Record<string, Json>;
  const names = Object.keys(states ?? {});
  if (!states || names.length === 0) return [`${scope}: no States`];
  if (!names.includes(definition.StartAt as string))
    problems.push(`${scope}: StartAt ${String(definition.StartAt)} is not a state`);

  for (const [name, state] of Object.entries(states)) {
    const where = `${scope}.${name}`;
    const type = state.Type as string;
    for (const next of transitions(state))
      if (!names.includes(next)) problems.push(`${where}: transition to missing state ${next}`);
    if (FLOW_TYPES.has(type)) {
      const ends = state.End === true;
      const hasNext = typeof state.Next === "string";
      if (ends === hasNext) problems.push(`${where}: needs exactly one of Next or End`);
    } else if (TERMINAL_TYPES.has(type)) {
      if (state.Next !== undefined || state.End !== undefined)
        problems.push(`${where}: ${type} states take no Next/End`);
    } else if (type !== "Choice") {
      problems.push(`${where}: unknown Type ${type}`);
    }
    if (type === "Task" || type === "Map") {
      const retry = state.Retry as Json[] | undefined;
      const catchers = state.Catch as Json[] | undefined;
      if (!retry?.length) problems.push(`${where}: no Retry`);
      else checkRetry(retry, where, problems);
      if (!catchers?.length) problems.push(`${where}: no Catch`);
    }
    checkPaths(state, where, problems);
    if (type === "Map") {
      const reader = state.ItemReader as Json | undefined;
      const params = (reader?.Parameters ?? {}) as Json;
      if (reader?.Resource !== "arn:aws:states:::s3:getObject")
        problems.push(`${where}: ItemReader must read one S3 object`);
      if ((reader?.ReaderConfig as Json | undefined)?.InputType !== "JSON")
        problems.push(`${where}: ItemReader must read JSON`);
      if (!("Bucket" in params || "Bucket.$" in params) || !("Key" in params || "Key.$" in params))
        problems.push(`${where}: ItemReader needs Bucket and Key`);
      const processor = state.ItemProcessor as Json | undefined;
      if ((processor?.ProcessorConfig as Json | undefined)?.Mode !== "DISTRIBUTED")
        problems.push(`${where}: ItemProcessor must be DISTRIBUTED`);
      if (processor) problems.push(...checkAsl(processor, where));
    }
  }

  // Every state is reachable from StartAt...
  const reached = new Set<string>();
  const queue = [definition.StartAt as string];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (reached.has(name) || !states[name]) continue;
    reached.add(name);
    queue.push(...transitions(states[name]));
  }
  for (const name of names) if (!reached.has(name)) problems.push(`${scope}.${name}: unreachable`);

  // ...and every state can reach an end (no cycle without a way out).
  const ends = new Set(
    names.filter((n) => states[n]!.End === true || TERMINAL_TYPES.has(states[n]!.Type as string)),
  );
  let grew = true;
  while (grew) {
    grew = false;
    for (const name of names) {
      if (!ends.has(name) && transitions(states[name]!).some((next) => ends.has(next))) {
        ends.add(name);
        grew = true;
      }
    }
  }
  for (const name of names) if (!ends.has(name)) problems.push(`${scope}.${name}: never reaches an end`);
  return problems;
}
