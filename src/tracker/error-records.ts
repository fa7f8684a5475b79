/** Turns anything thrown into a small, bounded `TaskErrorRecord` that fits in a DynamoDB item. */
import type { TaskErrorRecord } from "./types.js";

const MAX_MESSAGE_CHARS = 1_000;
const MAX_STACK_LINES = 10;
const MAX_STACK_CHARS = 2_000;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function toErrorRecord(error: unknown, attempt: number, at: Date): TaskErrorRecord {
  const record: TaskErrorRecord = {
    attempt,
    at: at.toISOString(),
    name: "Error",
    message: "",
  };
  if (error instanceof Error) {
    record.name = error.name || "Error";
    record.message = truncate(error.message, MAX_MESSAGE_CHARS);
    if (error.stack) {
      const lines = error.stack.split("\n").slice(0, MAX_STACK_LINES).join("\n");
      record.stack = truncate(lines, MAX_STACK_CHARS);
    }
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") record.code = String(code);
  } else {
    record.name = "NonErrorThrown";
    record.message = truncate(typeof error === "string" ? error : safeJson(error), MAX_MESSAGE_CHARS);
  }
  return record;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
