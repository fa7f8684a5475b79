/** Option parsers shared by the commands. */
import { InvalidArgumentError } from "@commander-js/extra-typings";

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
