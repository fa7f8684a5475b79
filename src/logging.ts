/**
 * Structured logs go to stderr (pino) so stdout stays clean for `--json` output and NDJSON.
 * Secret-looking fields are redacted by pino before anything is written. Errors are logged with their
 * message and code; stacks (which name install paths) only at debug level.
 */
import { type Logger, pino } from "pino";
import { DEBUG_LEVELS, debugEnabled } from "./log-level.js";

export type { Logger };

const REDACT_PATHS = [
  "*.secretAccessKey",
  "*.accessKeyId",
  "*.sessionToken",
  "*.password",
  "*.credentials",
  "*.auth",
  "secretAccessKey",
  "accessKeyId",
  "credentials",
];

/** pino's error serializer without the stacks, of the error and of its causes. */
function errorWithoutStack(error: Error): unknown {
  return withoutStacks(pino.stdSerializers.err(error), 0);
}

function withoutStacks(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null || depth > 5) return value;
  if (Array.isArray(value)) return value.map((item) => withoutStacks(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "stack")
      .map(([key, item]) => [key, withoutStacks(item, depth + 1)]),
  );
}

export function createLogger(
  options: { level?: string; name?: string; destination?: { write(line: string): void } } = {},
): Logger {
  const level = options.level ?? process.env.SNAPLAKE_LOG_LEVEL ?? "info";
  return pino(
    {
      name: options.name ?? "snaplake",
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      ...(DEBUG_LEVELS.has(level) || debugEnabled() ? {} : { serializers: { err: errorWithoutStack } }),
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing: the default for library calls, so embedding apps stay quiet. */
export const silentLogger: Logger = pino({ level: "silent" });
