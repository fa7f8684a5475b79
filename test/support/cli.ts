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

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A line of a JavaScript stack trace ("    at fn (/path/file.js:1:2)"). */
const STACK_LINE = /\n\s+at \S/;

/**
 * The CLI never prints a stack trace (README: one line per error; stacks only with
 * SNAPLAKE_LOG_LEVEL=debug). Every CLI test's output goes through this.
 */
/** What a command printed on stderr, line by line, without the line naming the tracker that project commands print. */
export function stderrLines(stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("snaplake: tracker: "));
}

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

/**
 * Runs the CLI in-process (runCli, as the `snaplake` binary does) and captures stdout, stderr and the exit
 * code the binary would end with.
 */
export async function snaplake(args: string[]): Promise<CliResult> {
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
  let code: number;
  try {
    code = await runCli(["node", "snaplake", ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
  const result = { code, stdout: out.join(""), stderr: err.join("") };
  expectNoStackTrace(result, `snaplake ${args.join(" ")}`);
  return result;
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
      AWS_ACCESS_KEY_ID: "snaplaketest",
      AWS_SECRET_ACCESS_KEY: "snaplaketest",
      AWS_REGION: "us-east-1",
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
