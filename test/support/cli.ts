/**
 * Two ways to run the `snaplake` command in tests:
 *  - `snaplake(args)` runs the program in this process (fast, no child, no build): for checking what a
 *    command prints and its exit code.
 *  - `builtFile("cli/main.js")` is the built binary (dist/, compiled by `npm test` before vitest runs), for
 *    tests that need a real process (signals, kills, several workers). Plain `node` starts it in a fraction
 *    of the time `node --import tsx src/...` takes. Run `npm run build` after changing src/ when running
 *    such a test file on its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, vi } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { redirectLogs } from "../../src/logging.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A line of a JavaScript stack trace ("    at fn (/path/file.js:1:2)"). */
const STACK_LINE = /\n\s+at \S/;

/**
 * What a command printed on stderr for a person, line by line: without its JSON log lines (pino's, such as
 * "created tracker table" on a first run) and the line naming the tracker that project commands print.
 */
export function stderrLines(stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("snaplake: tracker: ") && !isJsonLogLine(line));
}

function isJsonLogLine(line: string): boolean {
  if (!line.startsWith('{"level":')) return false;
  try {
    return typeof JSON.parse(line).msg === "string";
  } catch {
    return false;
  }
}

/**
 * The CLI never prints a stack trace (README: one line per error; stacks only with
 * SNAPLAKE_LOG_LEVEL=debug). Every CLI test's output goes through this.
 */
export function expectNoStackTrace(result: { stdout: string; stderr: string }, what = "CLI output"): void {
  if (process.env.SNAPLAKE_LOG_LEVEL === "debug" || process.env.SNAPLAKE_LOG_LEVEL === "trace") return;
  for (const [stream, text] of [
    ["stdout", result.stdout],
    ["stderr", result.stderr],
  ] as const) {
    expect(text, `${what} (${stream}) holds a stack trace`).not.toMatch(STACK_LINE);
    expect(text, `${what} (${stream}) holds a stack field`).not.toMatch(/"stack":/);
  }
}

/** Credentials and region the CLI under test gets (dynalite takes any key; s3rver tests set their own). */
const TEST_AWS_SETTINGS = {
  AWS_ACCESS_KEY_ID: "snaplaketest",
  AWS_SECRET_ACCESS_KEY: "snaplaketest",
  AWS_REGION: "us-east-1",
};

/**
 * Runs the CLI in-process (runCli, as the `snaplake` binary does) and captures stdout, stderr (log lines
 * included) and the exit code the binary would end with. `env` is laid over the test's environment for the
 * run, with CI=1 and the test AWS settings where the test's environment has none, as the built binary gets
 * them. Paths in `args` are taken from the test's current folder: pass the config's absolute path.
 */
export async function snaplake(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  redirectLogs({ write: (line) => err.push(line) });
  const unsetAws = Object.entries(TEST_AWS_SETTINGS).filter(([key]) => process.env[key] === undefined);
  const restoreEnv = overlayEnv({ ...Object.fromEntries(unsetAws), CI: "1", ...env });
  let code: number;
  try {
    code = await runCli(["node", "snaplake", ...args]);
  } finally {
    restoreEnv();
    redirectLogs();
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
  const result = { code, stdout: out.join(""), stderr: err.join("") };
  expectNoStackTrace(result, `snaplake ${args.join(" ")}`);
  return result;
}

/** Sets `env` in process.env (undefined deletes); the returned function puts back what was there. */
function overlayEnv(env: NodeJS.ProcessEnv): () => void {
  const before = Object.entries(env).map(([key]) => [key, process.env[key]] as const);
  const apply = (entries: readonly (readonly [string, string | undefined])[]) => {
    for (const [key, value] of entries) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(Object.entries(env));
  return () => apply(before);
}

/** Absolute path of a built file under dist/, e.g. "cli/main.js"; fails clearly when it was not built. */
export function builtFile(path: string): string {
  const file = fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm test does) first`);
  return file;
}

export interface CliProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the built `snaplake` binary in `cwd` (CI=1: JSON logs instead of bars, and test AWS settings).
 * `stdout()` and `stderr()` give what it printed so far; `done` resolves when it ends.
 */
export function startBuiltCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [builtFile("cli/main.js"), ...args], {
    cwd,
    env: {
      ...process.env,
      ...TEST_AWS_SETTINGS,
      CI: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<CliProcessResult>((ok) =>
    child.on("close", (code, signal) => ok({ code, signal, stdout, stderr })),
  ).then((result) => {
    expectNoStackTrace(result, `snaplake ${args.join(" ")}`);
    return result;
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the built `snaplake` binary in `cwd` to its end, with `env` over the test environment. */
export function runBuiltCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CliProcessResult> {
  return startBuiltCli(args, cwd, env).done;
}
