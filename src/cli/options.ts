/** Option parsers shared by the commands. */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";

/** The config file a project command reads when neither --config nor SNAPLAKE_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = "snaplake.config.jsonc";

/** `--config`: the option, else SNAPLAKE_CONFIG, else snaplake.config.jsonc in the current folder (what `init` writes). */
export function configOption(description = "project config file (JSON with comments)") {
  return new Option("-c, --config <file>", description).env("SNAPLAKE_CONFIG").default(DEFAULT_CONFIG_FILE);
}

/**
 * A whole-number option value from `min` to `max`. Commander reports an InvalidArgumentError as a usage
 * error naming the option (exit code 2), before any action runs.
 */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number ${range}`);
    return n;
  };
}
