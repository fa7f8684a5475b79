/**
 * What every project command needs: the config file read, the runtime (storage + tracker) opened, the
 * project built, logs to stderr (human on a TTY, JSON lines elsewhere), a live view on a TTY, and
 * everything closed afterwards.
 * The embedded tracker's state sits beside the config file (like the config's relative paths), so every
 * command sees the same project from any current directory; the tracker in use is named on stderr.
 * The project and its runtime (polars, the AWS SDK) are imported only when a session opens, so commands
 * can import this module without slowing down the CLI's start (`snaplake --help`).
 */
import { dirname, join, resolve } from "node:path";
import type { ProjectConfig } from "../config.js";
import { type EndpointSetting, explainConnectionError } from "../errors.js";
import type { Project, RunOptions } from "../project.js";
import type { RunDisplay } from "./display.js";

/** How logs are written on stderr: for people, or one JSON object a line (pino's) for machines. */
export type LogFormat = "human" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["human", "json"];

export interface SessionOptions {
  config: string;
  /** The embedded tracker's folder; default `.snaplake` beside the config file. */
  stateDir?: string;
  /** A live view of the run (only when stderr is a TTY and logs are for people). */
  progress?: boolean;
  /** Default: human on a TTY, JSON elsewhere. */
  logFormat?: LogFormat;
}

export interface Session {
  project: Project;
  /** Spread into `runAll` / `drain`: the live view's callbacks, when there is one. */
  runOptions: Pick<RunOptions, "onProgress" | "onActivity">;
  /** The live view, when there is one: its records make the end-of-run table. */
  display: RunDisplay | undefined;
}

export async function withProject<T>(
  options: SessionOptions,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const logFormat = options.logFormat ?? (process.stderr.isTTY ? "human" : "json");
  const { RunDisplay, humanLogLine } = await import("./display.js");
  // Shown before polars and the AWS SDK load (a second or two), so the terminal is never silent.
  const display =
    options.progress && logFormat === "human" && process.stderr.isTTY && !process.env.CI
      ? new RunDisplay(process.stderr, `opening ${options.config} ...`)
      : undefined;
  try {
    const [{ createConfiguredProject }, { createLogger }, { openRuntime }, { loadConfigFile }] =
      await Promise.all([
        import("../configured-project.js"),
        import("../logging.js"),
        import("../runtime.js"),
        import("./config-file.js"),
      ]);
    // The live view shows progress, so only warnings and errors are logged above it unless asked for more.
    const logger = display
      ? createLogger({ level: process.env.SNAPLAKE_LOG_LEVEL ?? "warn", destination: display.logSink })
      : logFormat === "human"
        ? createLogger({
            destination: {
              write: (chunk) => {
                for (const json of chunk.split("\n"))
                  if (json.trim()) process.stderr.write(`${humanLogLine(json)}\n`);
              },
            },
          })
        : createLogger();
    const definition = await loadConfigFile(options.config);
    display?.setStatus(`opening the tracker and storage of ${definition.config.projectId} ...`);
    const runtime = await openRuntime(definition.config, {
      stateDir: options.stateDir ?? defaultStateDir(options.config),
      logger,
    });
    const trackerLine = `snaplake: tracker: ${runtime.trackerDescription}`;
    if (display) display.line(trackerLine);
    else process.stderr.write(`${trackerLine}\n`);
    display?.setStatus("starting ...");
    const runOptions = display ? { onProgress: display.onProgress, onActivity: display.onActivity } : {};
    try {
      return await fn({ project: createConfiguredProject(definition, runtime), runOptions, display });
    } catch (error) {
      throw explainConnectionError(error, configuredEndpoints(definition.config, options.config)) ?? error;
    } finally {
      display?.stop();
      await runtime.close();
    }
  } finally {
    display?.stop();
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
