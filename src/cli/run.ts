/**
 * Runs the `snaplake` program on an argv and returns the exit code: the one the command set, 2 for a usage
 * error or an invalid configuration, 1 for any other failure. The one place errors become exit codes:
 * typed snaplake errors print one line; anything else is a bug and keeps its stack for the report.
 */
import { CommanderError } from "@commander-js/extra-typings";
import { SnaplakeError } from "../errors.js";
import { ExitCode } from "./exit-codes.js";
import { buildProgram } from "./program.js";

/** Errors the user fixes in the config or the arguments: exit 2. */
const USAGE_CODES = new Set(["CONFIG_INVALID", "CONFIG_CHANGED"]);

export async function runCli(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    // Help and --version end "successfully"; anything else commander rejects is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error instanceof SnaplakeError) {
      process.stderr.write(`snaplake: ${error.message}\n`);
      return USAGE_CODES.has(error.code) ? ExitCode.usage : ExitCode.failed;
    }
    process.stderr.write(
      `snaplake: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.failed;
  }
}
