import { ExitCode } from "./exit-codes.js";

/**
 * Wraps a command action so the number it returns becomes the exit code (commander ignores return values).
 * Errors propagate to runCli, which turns them into exit codes.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    const code = await fn(...args);
    process.exitCode = typeof code === "number" ? code : ExitCode.ok;
  };
}
