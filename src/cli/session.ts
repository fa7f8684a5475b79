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
import type { ProjectConfig } from "../config.js";
import { type EndpointSetting, explainConnectionError } from "../errors.js";
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
          { stream: process.stderr, hideCursor: true, format: " {step} [{bar}] {value}/{total}{failed}" },
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
          bar = bars.create(event.total, 0, { step: event.step.padEnd(26), failed: "" });
          perStep.set(event.step, bar);
        }
        bar.setTotal(event.total);
        // The bar fills with succeeded tasks only: a task that failed for good leaves it short, and says so.
        const failed = event.failed > 0 ? `, ${event.failed} failed` : "";
        bar.update(event.succeeded, { step: event.step.padEnd(26), failed });
      }
    : undefined;
  try {
    return await fn({ project: createConfiguredProject(definition, runtime), onProgress });
  } catch (error) {
    throw explainConnectionError(error, configuredEndpoints(definition.config, options.config)) ?? error;
  } finally {
    bars?.stop();
    await runtime.close();
  }
}

/** The embedded tracker's default folder: `.snaplake` beside the config file. */
export function defaultStateDir(configFile: string): string {
  return join(dirname(resolve(configFile)), ".snaplake");
}

/** The endpoints a project talks to, each with the setting that chose it (the config field wins). */
function configuredEndpoints(config: ProjectConfig, configPath: string): EndpointSetting[] {
  const { aws } = config;
  const env = process.env;
  const pick = (field: "dynamodbEndpoint" | "s3Endpoint", variable: string): EndpointSetting => {
    if (aws[field]) return { url: aws[field], setting: `aws.${field} in ${configPath}` };
    if (env[variable]) return { url: env[variable], setting: variable };
    return { url: env.AWS_ENDPOINT_URL, setting: "AWS_ENDPOINT_URL" };
  };
  return [pick("dynamodbEndpoint", "AWS_ENDPOINT_URL_DYNAMODB"), pick("s3Endpoint", "AWS_ENDPOINT_URL_S3")];
}

/** Prints JSON to stdout (machine output) or text lines. */
export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
