/**
 * Runs the `snaplake` program on an argv and returns the exit code: the one the command set, 2 for a usage
 * error, an invalid configuration or missing credentials, 1 for any other failure. The one place errors
 * become exit codes: every error prints one line; its stack only at debug level (SNAPLAKE_LOG_LEVEL=debug).
 */
import { CommanderError } from "@commander-js/extra-typings";
import { type ErrorCode, explainConnectionError, SnaplakeError } from "../errors.js";
import { debugEnabled } from "../log-level.js";
import { ExitCode } from "./exit-codes.js";
import { buildProgram } from "./program.js";

/** Codes that mean the user must fix a setting or an argument before anything can run. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  "CONFIG_INVALID",
  "CONFIG_CHANGED",
  "AWS_CREDENTIALS_MISSING",
]);

export async function runCli(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    // Help and --version end "successfully"; anything else commander rejects is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    const explained = error instanceof SnaplakeError ? error : (explainConnectionError(error) ?? error);
    process.stderr.write(`snaplake: ${describeError(explained)}\n`);
    if (debugEnabled() && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    if (explained instanceof SnaplakeError) {
      return USAGE_CODES.has(explained.code) ? ExitCode.usage : ExitCode.failed;
    }
    return ExitCode.failed;
  }
}

/** One line: our messages as they are; anything else (a bug, most likely) with its class name. */
function describeError(error: unknown): string {
  if (error instanceof SnaplakeError) return oneLine(error.message);
  if (error instanceof Error) {
    const hint = debugEnabled() ? "" : " (SNAPLAKE_LOG_LEVEL=debug prints the stack)";
    return `${error.name}: ${oneLine(error.message)}${hint}`;
  }
  return oneLine(String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
