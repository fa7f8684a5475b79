/** Whether stacks are wanted: SNAPLAKE_LOG_LEVEL at debug or trace. Kept apart from logging.ts (pino), so
 * the CLI can ask without loading the logger. */

export const DEBUG_LEVELS: ReadonlySet<string> = new Set(["debug", "trace"]);

export function debugEnabled(): boolean {
  return DEBUG_LEVELS.has(process.env.SNAPLAKE_LOG_LEVEL ?? "");
}
