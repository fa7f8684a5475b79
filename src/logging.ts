/**
 * Structured logs go to stderr (pino) so stdout stays clean for `--json` output and NDJSON.
 * Secret-looking fields are redacted by pino before anything is written.
 */
import { type Logger, pino } from "pino";

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

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "snaplake",
      level: options.level ?? process.env.SNAPLAKE_LOG_LEVEL ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing: the default for library calls, so embedding apps stay quiet. */
export const silentLogger: Logger = pino({ level: "silent" });
