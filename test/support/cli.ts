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
import { vi } from "vitest";
import { runCli } from "../../src/cli/run.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
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
  return { code, stdout: out.join(""), stderr: err.join("") };
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
export function startBuiltCli(args: string[], cwd: string) {
  const child: ChildProcess = spawn(process.execPath, [builtFile("cli/main.js"), ...args], {
    cwd,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: "snaplaketest",
      AWS_SECRET_ACCESS_KEY: "snaplaketest",
      AWS_REGION: "us-east-1",
      CI: "1",
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
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the built `snaplake` binary in `cwd` to its end. */
export function runBuiltCli(args: string[], cwd: string): Promise<CliProcessResult> {
  return startBuiltCli(args, cwd).done;
}
