/** Documented exit codes of the `snaplake` command (also listed in the README). */
export const ExitCode = {
  ok: 0,
  /** A task, step or validation failed, or bad input lines were found without --keep-going. */
  failed: 1,
  /** Bad configuration or arguments: the message names the field. */
  usage: 2,
} as const;
