import { SnaplakeError } from "../errors.js";
import { ExitCode } from "./exit-codes.js";

/**
 * Wraps a command action: typed snaplake errors print one clear line (no stack trace) and set the exit
 * code; anything else is a bug and keeps its stack for the report.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === "number" ? code : ExitCode.ok;
    } catch (error) {
      if (error instanceof SnaplakeError) {
        process.stderr.write(`snaplake: ${error.message}\n`);
        process.exitCode = error.code === "CONFIG_INVALID" ? ExitCode.usage : ExitCode.failed;
        return;
      }
      throw error;
    }
  };
}
