/**
 * Issue 19, item 2, through the built CLI: on a terminal (a pseudo-terminal made by util-linux `script`)
 * `snaplake run` draws a live view (rows, throughput, ETA, the workers' groups) and ends with a summary
 * table, with no JSON log lines; with stderr on a pipe, or `--log-format json`, logs are JSON lines.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtFile, runBuiltCli } from "../support/cli.js";
import { uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const BIN = builtFile("cli/main.js");

/** A project of 4 NDJSON files of 1,500 rows each, one snapshot group per file. */
function projectDir(): string {
  const dir = tempDir("snaplake-display-");
  mkdirSync(join(dir, "snap"));
  for (let f = 0; f < 4; f++) {
    const lines = Array.from(
      { length: 1500 },
      (_, i) =>
        `{"order_id":${f * 1500 + i},"region":"${["eu", "us", "ap"][i % 3]}","note":"${"x".repeat(40)}"}`,
    );
    writeFileSync(join(dir, "snap", `part-${f}.ndjson`), `${lines.join("\n")}\n`);
  }
  const config = {
    projectId: uniqueName("display"),
    snapshot: { uri: "./snap/" },
    reader: { format: "ndjson" },
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["region"],
    sortBy: ["order_id"],
    targetFileGroupSize: "64KB",
  };
  writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));
  return dir;
}

/** The environment a person's shell has: no CI marker (which turns the live view off). */
function userEnv(): NodeJS.ProcessEnv {
  const { CI: _, ...env } = process.env;
  return env;
}

function collect(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd, env: userEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((ok) => child.on("close", (code) => ok({ code, stdout, stderr })));
}

/** Runs the CLI on a pseudo-terminal of 100 columns; everything it drew comes back on stdout, escapes and all. */
function onTerminal(cwd: string, cliArgs: string[]) {
  const quoted = [process.execPath, BIN, ...cliArgs].map((a) => `'${a}'`).join(" ");
  return collect("script", ["-q", "-e", "-c", `stty cols 100 rows 40; exec ${quoted}`, "/dev/null"], cwd);
}

/** The terminal's text without colours, cursor moves and line erasures. */
function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences start with ESC
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

/** A duration as the display writes it: 4.2s or 1m05s. */
const TIME = String.raw`(?:\d+\.\ds|\d+m\d\ds)`;
const JSON_LOG_LINE = /^\s*\{"level":\d+/m;

describe("snaplake run's terminal display", () => {
  it("on a terminal: a live view with rows, throughput, ETA and the workers' groups, a summary table, no JSON", async () => {
    const dir = projectDir();
    const ran = await onTerminal(dir, ["run", "--config", "snaplake.config.json"]);
    const screen = plain(ran.stdout);
    expect(ran.code, screen).toBe(0);
    expect(screen).toMatch(/snaplake: tracker: embedded/);
    // The live view of step 1.3 while it runs: after its first task, a throughput and an ETA in time.
    expect(screen).toMatch(
      new RegExp(String.raw`1\.3 process snapshot groups  [1-3]/4 tasks  elapsed ${TIME}  ETA ${TIME}`),
    );
    expect(screen).toMatch(
      /[1-9][\d,]* rows, \d+\.\d MB of \d+\.\d MB {2}[1-9][\d,]* rows\/s, \d+\.\d MB\/s/,
    );
    expect(screen).toMatch(/worker on group [0-9a-f]{8} \(1 file\)/);
    expect(screen).toMatch(/worker on region=(eu|us|ap) \[[0-9a-f]{8}\]/);
    // Finished steps, then the summary table with the run's numbers.
    expect(screen).toMatch(/✔ 1\.3 process snapshot groups +\d+\.\ds {2}4\/4 tasks {2}6,000 rows/);
    expect(screen).toMatch(/1\.3 process snapshot groups +\d+\.\ds +4\/4 +6,000 +\d+/);
    expect(screen).toMatch(/2\.3 compact partitions +\d+\.\ds +3\/3 +6,000 +3/);
    expect(screen).toMatch(/lake: +3 partitions, 3 files, [\d.]+ [KkM]B, 6,000 rows/);
    expect(screen).toMatch(/bad rows: +0/);
    expect(screen).toMatch(/validation: +passed/);
    expect(screen).toMatch(/table: +hive lake/);
    expect(screen).not.toMatch(JSON_LOG_LINE);
    expect(screen).not.toMatch(/"msg":/);
  }, 120_000);

  it("on a terminal: a failed task's warning is written above the live view in human form, not as JSON", async () => {
    const dir = tempDir("snaplake-display-");
    mkdirSync(join(dir, "snap"));
    writeFileSync(join(dir, "snap", "a.csv"), "id,day\n1,2023-12-31\n");
    const config = {
      projectId: uniqueName("display-fail"),
      snapshot: { uri: "./snap/" },
      reader: { format: "csv" },
      derivedColumns: [{ name: "year", from: "day", format: "%Y" }],
      partitionKeys: ["year"],
      stagingUri: "./staging/",
      datalakeUri: "./lake/",
    };
    writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));
    const ran = await onTerminal(dir, ["run", "--config", "snaplake.config.json"]);
    const screen = plain(ran.stdout);
    expect(ran.code, screen).toBe(1);
    expect(screen).toMatch(
      /^warn {2}task failed for good \(step=1\.3-snapshot-to-staging, taskId=[0-9a-f]{32}, status=ignored, attempt=1\): DerivedColumnError \[DERIVED_COLUMN_FAILED\]: Derived column "year" failed/m,
    );
    expect(screen).toMatch(/✖ 1\.3 process snapshot groups +\d+\.\ds {2}1\/1 tasks, 1 failed/);
    expect(screen).not.toMatch(JSON_LOG_LINE);
    expect(screen).not.toMatch(/"msg":/);
  }, 120_000);

  it("with stderr on a pipe: JSON log lines and no live view", async () => {
    const dir = projectDir();
    const ran = await runBuiltCli(["run", "--config", "snaplake.config.json"], dir, { CI: undefined });
    expect(ran.code, ran.stderr).toBe(0);
    const lines = ran.stderr.trim().split("\n");
    const logs = lines.filter((line) => !line.startsWith("snaplake: tracker: ")).map((l) => JSON.parse(l));
    expect(logs.filter((l) => l.msg === "task succeeded").map((l) => l.step)).toEqual([
      ...Array(4).fill("1.3-snapshot-to-staging"),
      ...Array(3).fill("2.3-staging-to-datalake"),
    ]);
    expect(ran.stderr).not.toMatch(/ETA|rows\/s/);
    expect(ran.stdout).toMatch(/^validation: ok$/m);
  }, 120_000);

  it("on a terminal with --log-format json: JSON log lines, no live view", async () => {
    const dir = projectDir();
    const ran = await onTerminal(dir, ["run", "--config", "snaplake.config.json", "--log-format", "json"]);
    const screen = plain(ran.stdout);
    expect(ran.code, screen).toBe(0);
    expect(screen).toMatch(JSON_LOG_LINE);
    expect(screen).toMatch(/"msg":"task succeeded"/);
    expect(screen).not.toMatch(/ETA|rows\/s/);
  }, 120_000);
});
