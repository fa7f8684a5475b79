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

/** Where log lines go: anything with a `write(line)`, such as a stream. */
export interface LogDestination {
  write(line: string): void;
}

let redirectedTo: LogDestination | undefined;
let fd2: LogDestination | undefined;

/**
 * The destination of loggers made without one: fd 2, written synchronously (a line is out before the next
 * statement runs, even if the process is killed then), unless redirectLogs points it elsewhere.
 */
const defaultDestination: LogDestination = {
  write: (line) => {
    if (redirectedTo) redirectedTo.write(line);
    else {
      fd2 ??= pino.destination({ fd: 2, sync: true });
      fd2.write(line);
    }
  },
};

/**
 * Sends the lines of loggers made without a destination to `destination` instead of fd 2, until called
 * again (without one: back to fd 2). For programs that run the CLI's commands inside their own process and
 * capture what they print (the in-process CLI tests); the `snaplake` binary never redirects.
 */
export function redirectLogs(destination?: LogDestination): void {
  redirectedTo = destination;
}

export function createLogger(
  options: { level?: string; name?: string; destination?: LogDestination } = {},
): Logger {
  const level = options.level ?? process.env.SNAPLAKE_LOG_LEVEL ?? "info";
  return pino(
    {
      name: options.name ?? "snaplake",
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      ...(DEBUG_LEVELS.has(level) || debugEnabled() ? {} : { serializers: { err: errorWithoutStack } }),
    },
    options.destination ?? defaultDestination,
  );
}

/** A logger that writes nothing: the default for library calls, so embedding apps stay quiet. */
export const silentLogger: Logger = pino({ level: "silent" });
