/**
 * Habits users bring from other tools, through the built `snaplake` binary (dry runs, which only plan and
 * print, in this process): --config defaults to snaplake.config.jsonc or SNAPLAKE_CONFIG, `run --dry-run`
 * prints the plan and touches nothing, include / exclude take globs (includeRegex for a regular expression),
 * and shell completion offers the commands.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { createStorage } from "../../src/storage/create.js";
import { runBuiltCli as run, snaplake } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

function ordersConfig(overrides: Record<string, unknown> = {}) {
  return {
    projectId: "orders-habits",
    snapshot: { uri: "./snapshot/" },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["year"],
    targetFileGroupSize: 40_000,
    ...overrides,
  };
}

/** Every path under a folder: what "touches nothing" is checked against. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("--config default", () => {
  it("reads snaplake.config.jsonc in the current folder, or the file SNAPLAKE_CONFIG names; says what to do when neither exists", async () => {
    const dir = tempDir("snaplake-habits-config-");
    const missing = await run(["status"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("snaplake.config.jsonc");
    expect(missing.stderr).toContain("SNAPLAKE_CONFIG");
    expect(missing.stderr).toContain("snaplake init");

    expect((await run(["init"], dir)).code).toBe(0);
    const status = await run(["status", "--json"], dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).projectId).toBe("orders-2024-06-01");

    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, "other", "project.json"), JSON.stringify(ordersConfig()));
    process.env.SNAPLAKE_CONFIG = join(dir, "other", "project.json");
    try {
      const fromEnv = await run(["status", "--json"], dir);
      expect(fromEnv.code).toBe(0);
      expect(JSON.parse(fromEnv.stdout).projectId).toBe("orders-habits");
      // --config wins over the variable.
      const explicit = await run(["status", "--json", "--config", "snaplake.config.jsonc"], dir);
      expect(JSON.parse(explicit.stdout).projectId).toBe("orders-2024-06-01");
    } finally {
      delete process.env.SNAPLAKE_CONFIG;
    }
  }, 60_000);
});

describe("run --dry-run", () => {
  it("prints the manifest, the groups and the memory per worker, and writes nothing: no tracker state, staging or lake", async () => {
    const dir = tempDir("snaplake-habits-dry-");
    const snapshot = await writeOrdersSnapshot(createStorage(), `${dir}/snapshot/`, {
      rows: 6_000,
      files: 6,
    });
    writeFileSync(join(dir, "snaplake.config.jsonc"), JSON.stringify(ordersConfig()));
    const before = tree(dir);

    // The text dry run through the built binary, in the folder; the JSON one in this process (config by path).
    const config = join(dir, "snaplake.config.jsonc");
    const text = await run(["run", "--dry-run"], dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("nothing was written");
    expect(text.stdout).toContain(`step 0 manifest: ${snapshot.uris.length} files`);
    expect(text.stdout).toMatch(/estimated memory per worker: [\d.]+ MB/);

    const json = await snaplake(["run", "--dry-run", "--json", "--workers", "3", "--config", config]);
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout);
    expect(plan.manifest.files).toBe(snapshot.uris.length);
    const bytes = readdirSync(join(dir, "snapshot")).reduce(
      (sum, f) => sum + statSync(join(dir, "snapshot", f)).size,
      0,
    );
    expect(plan.manifest.bytes).toBe(bytes);
    // Groups of about 40 kB over ~6 files: several groups, every file in exactly one.
    expect(plan.groups.length).toBeGreaterThan(1);
    expect(plan.groups.reduce((sum: number, g: { files: number }) => sum + g.files, 0)).toBe(
      snapshot.uris.length,
    );
    const largest = Math.max(...plan.groups.map((g: { inMemory: number }) => g.inMemory));
    expect(plan.estimatedWorkerMemory).toBe(Math.round(largest * 6.5 + 200 * 1024 * 1024));
    expect(plan.estimatedMemory).toBe(plan.estimatedWorkerMemory * 3);

    // Nothing written: no .snaplake state folder (no tracker opened), no staging, no lake.
    expect(tree(dir)).toEqual(before);
    expect(existsSync(join(dir, ".snaplake"))).toBe(false);

    // The plan is the one the real run makes: the same number of step-1.3 groups.
    const ran = await run(["run", "--json"], dir);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).snapshotGroups.succeeded).toBe(plan.groups.length);
  }, 120_000);
});

describe("include / exclude globs", () => {
  function csvArchive() {
    const dir = tempDir("snaplake-habits-glob-");
    const files = [
      "2024/01/a.csv",
      "2024/02/b.csv",
      "2024/02/notes.txt",
      "2023/12/c.csv",
      "tmp/d.csv",
      "e.csv",
    ];
    for (const [i, file] of files.entries()) {
      mkdirSync(join(dir, "snapshot", file, ".."), { recursive: true });
      writeFileSync(join(dir, "snapshot", file), `id,v\n${i},x\n`);
    }
    return dir;
  }

  /** The dry run's answer on this snapshot selection (it only plans and prints). */
  async function planned(
    dir: string,
    snapshot: Record<string, unknown>,
    via: "binary" | "process" = "process",
  ) {
    const config = join(dir, "snaplake.config.jsonc");
    writeFileSync(
      config,
      JSON.stringify(
        ordersConfig({
          snapshot: { uri: "./snapshot/", ...snapshot },
          reader: { format: "csv" },
          derivedColumns: [],
          partitionKeys: [],
        }),
      ),
    );
    return via === "binary"
      ? run(["run", "--dry-run", "--json"], dir)
      : snaplake(["run", "--dry-run", "--json", "--config", config]);
  }

  it("a glob without / matches file names anywhere, one with / the path; exclude wins; includeRegex still works", async () => {
    const dir = csvArchive();
    // The first through the built binary, the others in this process.
    const byName = JSON.parse((await planned(dir, { include: "*.csv", exclude: "tmp/**" }, "binary")).stdout);
    expect(byName.manifest.files).toBe(4); // a, b, c, e: not notes.txt, not tmp/d.csv
    const byPath = JSON.parse((await planned(dir, { include: ["2024/**/*.csv", "e.csv"] })).stdout);
    expect(byPath.manifest.files).toBe(3); // a, b, e
    const byRegex = JSON.parse((await planned(dir, { includeRegex: "^2023/.*\\.csv$" })).stdout);
    expect(byRegex.manifest.files).toBe(1);

    const nothing = await planned(dir, { include: "*.parquet" });
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain("matching *.parquet");

    const regexInInclude = await planned(dir, { include: "\\.csv$" });
    expect(regexInInclude.code).toBe(2);
    expect(regexInInclude.stderr).toContain("snapshot.includeRegex");
  }, 60_000);
});

describe("shell completion", () => {
  /** Runs bash with the generated script sourced and asks the completion function about a command line. */
  function complete(script: string, line: string): string[] {
    const words = line.split(" ");
    const program = `
source "${script}"
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length - 1}
_snaplake
printf '%s\\n' "\${COMPREPLY[@]}"
complete -p snaplake`;
    return execFileSync("bash", ["--norc", "-c", program], { encoding: "utf8" }).trim().split("\n");
  }

  it("bash: the script from `snaplake completion bash` offers subcommands and each command's options", async () => {
    const dir = tempDir("snaplake-habits-completion-");
    const printed = await run(["completion", "bash"], dir);
    expect(printed.code).toBe(0);
    const script = join(dir, "snaplake.bash");
    writeFileSync(script, printed.stdout);

    const top = complete(script, "snaplake ");
    expect(top).toEqual(expect.arrayContaining(["run", "status", "preview", "query", "table", "completion"]));
    expect(top.at(-1)).toBe("complete -o default -F _snaplake snaplake");
    expect(complete(script, "snaplake re").slice(0, -1).sort()).toEqual(["report", "reset", "retry"]);
    const runOptions = complete(script, "snaplake run --");
    expect(runOptions).toEqual(expect.arrayContaining(["--config", "--dry-run", "--workers"]));
    expect(runOptions).not.toContain("--task");
    expect(complete(script, "snaplake table ").slice(0, -1).sort()).toEqual(["files", "history"]);
    expect(complete(script, "snaplake table files --")).toContain("--version");
    // After --config: nothing offered, so bash completes file names (-o default).
    expect(complete(script, "snaplake run --config ")).toEqual(["complete -o default -F _snaplake snaplake"]);
  });

  it("zsh: the script loads bashcompinit and the same function; an unknown shell is a usage error", async () => {
    const dir = tempDir("snaplake-habits-completion-");
    const zsh = await run(["completion", "zsh"], dir);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout.split("\n")[0]).toBe("#compdef snaplake");
    expect(zsh.stdout).toContain("bashcompinit");
    expect(zsh.stdout).toContain("complete -o default -F _snaplake snaplake");
    const fish = await run(["completion", "fish"], dir);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain("use bash or zsh");
  });
});
