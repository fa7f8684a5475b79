/**
 * What every project command needs: the config file read, the runtime (storage + tracker) opened, the
 * project built, logs to stderr, progress bars on a TTY, and everything closed afterwards.
 * The embedded tracker's state sits beside the config file (like the config's relative paths), so every
 * command sees the same project from any current directory; the tracker in use is named on stderr.
 * The project and its runtime (polars, the AWS SDK) are imported only when a session opens, so commands
 * can import this module without slowing down the CLI's start (`snaplake --help`).
 */
import { dirname, join, resolve } from "node:path";
import type { SingleBar } from "cli-progress";
import type { ProgressEvent, Project } from "../project.js";

export interface SessionOptions {
  config: string;
  /** The embedded tracker's folder; default `.snaplake` beside the config file. */
  stateDir?: string;
  /** Human progress bars instead of info logs (only when stderr is a TTY). */
  progress?: boolean;
}

export interface Session {
  project: Project;
  onProgress: ((event: ProgressEvent) => void) | undefined;
}

export async function withProject<T>(
  options: SessionOptions,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const [
    { MultiBar, Presets },
    { createConfiguredProject },
    { createLogger },
    { openRuntime },
    { loadConfigFile },
  ] = await Promise.all([
    import("cli-progress"),
    import("../configured-project.js"),
    import("../logging.js"),
    import("../runtime.js"),
    import("./config-file.js"),
  ]);
  const bars =
    options.progress && process.stderr.isTTY && !process.env.CI
      ? new MultiBar(
          { stream: process.stderr, hideCursor: true, format: " {step} [{bar}] {value}/{total}" },
          Presets.shades_classic,
        )
      : undefined;
  // With bars on screen, only warnings are logged, so lines don't tear the bars apart.
  const logger = createLogger(bars ? { level: "warn" } : {});
  const definition = await loadConfigFile(options.config);
  const runtime = await openRuntime(definition.config, {
    stateDir: options.stateDir ?? defaultStateDir(options.config),
    logger,
  });
  process.stderr.write(`snaplake: tracker: ${runtime.trackerDescription}\n`);
  const perStep = new Map<string, SingleBar>();
  const onProgress = bars
    ? (event: ProgressEvent) => {
        let bar = perStep.get(event.step);
        if (!bar) {
          bar = bars.create(event.total, 0, { step: event.step.padEnd(26) });
          perStep.set(event.step, bar);
        }
        bar.setTotal(event.total);
        bar.update(event.finished, { step: event.step.padEnd(26) });
      }
    : undefined;
  try {
    return await fn({ project: createConfiguredProject(definition, runtime), onProgress });
  } finally {
    bars?.stop();
    await runtime.close();
  }
}

/** The embedded tracker's default folder: `.snaplake` beside the config file. */
export function defaultStateDir(configFile: string): string {
  return join(dirname(resolve(configFile)), ".snaplake");
}

/** Prints JSON to stdout (machine output) or text lines. */
export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
