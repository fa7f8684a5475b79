/**
 * Checks a States Language definition with asl-validator (the States Language schema, path syntax,
 * transitions to missing or from unreachable states, state names unique across the whole machine, Next/End),
 * plus what it leaves out: states that can never reach an end, retriers AWS rejects, and snaplake's own
 * rules (every Lambda state and Map retries and catches; each Distributed Map reads one JSON list from S3).
 * Returns the problems found, empty when sound.
 */
import aslValidator from "asl-validator";

type Json = Record<string, unknown>;

const TERMINAL_TYPES = new Set(["Succeed", "Fail"]);

function transitions(state: Json): string[] {
  const out: string[] = [];
  if (typeof state.Next === "string") out.push(state.Next);
  if (typeof state.Default === "string") out.push(state.Default);
  for (const c of (state.Catch as Json[] | undefined) ?? []) out.push(c.Next as string);
  for (const c of (state.Choices as Json[] | undefined) ?? []) out.push(c.Next as string);
  return out;
}

// asl-validator's schema accepts an empty ErrorEquals, a fractional MaxAttempts, a BackoffRate below 1
// and States.ALL anywhere; Step Functions refuses them all.
function checkRetry(retry: Json[], where: string, problems: string[]): void {
  retry.forEach((r, i) => {
    const errors = r.ErrorEquals as string[];
    if (!Array.isArray(errors) || errors.length === 0) problems.push(`${where}.Retry[${i}]: no ErrorEquals`);
    if (errors?.includes("States.ALL") && (errors.length > 1 || i !== retry.length - 1))
      problems.push(`${where}.Retry[${i}]: States.ALL must be alone and last`);
    if (r.MaxAttempts !== undefined && !Number.isInteger(r.MaxAttempts))
      problems.push(`${where}.Retry[${i}]: MaxAttempts must be an integer`);
    if (r.BackoffRate !== undefined && (r.BackoffRate as number) < 1)
      problems.push(`${where}.Retry[${i}]: BackoffRate must be >= 1`);
  });
}

/** The checks asl-validator does not make, for one level of States (Map processors recurse). */
function checkBeyondSchema(definition: Json, scope: string): string[] {
  const problems: string[] = [];
  const states = (definition.States ?? {}) as Record<string, Json>;
  const names = Object.keys(states);
  for (const [name, state] of Object.entries(states)) {
    const where = `${scope}.${name}`;
    const type = state.Type as string;
    if (type === "Task" || type === "Map") {
      const retry = state.Retry as Json[] | undefined;
      if (!retry?.length) problems.push(`${where}: no Retry`);
      else checkRetry(retry, where, problems);
      if (!(state.Catch as Json[] | undefined)?.length) problems.push(`${where}: no Catch`);
    }
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
      if (processor) problems.push(...checkBeyondSchema(processor, where));
    }
  }
  // asl-validator only asks for one terminal state per machine; a loop elsewhere would run forever.
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

export function checkAsl(definition: Json): string[] {
  // The validator writes a default QueryLanguage into every state: give it a copy.
  const { errors } = aslValidator(structuredClone(definition));
  return [...errors.map((e) => `${e["Error code"]}: ${e.Message}`), ...checkBeyondSchema(definition, "root")];
}
