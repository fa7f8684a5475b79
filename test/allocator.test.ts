/**
 * The allocator settings, observed the way they matter, each case in a child process since they are
 * process-wide: with keepFreedMemory a 100 MB buffer allocated, touched and freed in a fresh process stays
 * in the process for reuse (glibc's defaults give anything above 32 MB back to the kernel); the `snaplake`
 * command starts node itself with LAUNCH_GLIBC_TUNABLES, under which malloc's memory comes in huge pages.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LAUNCH_GLIBC_TUNABLES, launchEnv } from "../src/allocator.js";
import { builtFile } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

const allocator = fileURLToPath(new URL("../src/allocator.ts", import.meta.url));

const script = `
import { readFileSync } from "node:fs";
import koffi from "koffi";
import { keepFreedMemory } from ${JSON.stringify(allocator)};
const tuning = await keepFreedMemory();
const again = await keepFreedMemory();
const libc = koffi.load("libc.so.6");
const malloc = libc.func("void *malloc(size_t size)");
const memset = libc.func("void *memset(void *s, int c, size_t n)");
const free = libc.func("void free(void *p)");
const rss = () => Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * 4096;
const size = 100 * 1024 * 1024;
const before = rss();
const block = malloc(size);
memset(block, 1, size);
const held = rss() - before;
free(block);
const kept = rss() - before;
console.log(JSON.stringify({ tuning, same: JSON.stringify(again) === JSON.stringify(tuning), held, kept }));
`;

interface Outcome {
  tuning: { applied: boolean; reason?: string };
  same: boolean;
  held: number;
  kept: number;
}

const { GLIBC_TUNABLES: _inherited, SNAPLAKE_MALLOC: _also, ...base } = process.env;

function runScript<T>(code: string, env: NodeJS.ProcessEnv): T {
  const stdout = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", code], {
    encoding: "utf8",
    env,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as T;
}

const runChild = (env: Record<string, string>) => runScript<Outcome>(script, { ...base, ...env });

const MB = 1024 * 1024;

describe("keepFreedMemory (Linux, glibc)", () => {
  it("keeps a freed 100 MB buffer in the process for reuse, once per process", () => {
    const outcome = runChild({});
    expect(outcome.tuning).toEqual({ applied: true });
    expect(outcome.same).toBe(true);
    expect(outcome.held).toBeGreaterThan(90 * MB);
    expect(outcome.kept).toBeGreaterThan(90 * MB);
  });

  it("changes nothing with SNAPLAKE_MALLOC=system: the freed buffer goes back to the kernel", () => {
    const outcome = runChild({ SNAPLAKE_MALLOC: "system" });
    expect(outcome.tuning).toEqual({ applied: false, reason: "SNAPLAKE_MALLOC=system" });
    expect(outcome.held).toBeGreaterThan(90 * MB);
    expect(outcome.kept).toBeLessThan(10 * MB);
  });

  it("leaves the allocator to GLIBC_TUNABLES when the environment sets it", () => {
    const outcome = runChild({ GLIBC_TUNABLES: "glibc.malloc.check=0" });
    expect(outcome.tuning).toEqual({
      applied: false,
      reason: "GLIBC_TUNABLES sets the allocator already",
    });
    expect(outcome.kept).toBeLessThan(10 * MB);
  });
});

describe("the snaplake command's launch environment", () => {
  const bin = fileURLToPath(new URL("../bin/snaplake.js", import.meta.url));

  /** Runs `bin/snaplake.js --version` as a user's shell does; a preload reports the node process it became. */
  function launched(env: NodeJS.ProcessEnv) {
    builtFile("cli/main.js"); // the command runs the build
    const dir = tempDir("snaplake-launch-");
    const report = join(dir, "report.json");
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      `import { writeFileSync } from "node:fs";
writeFileSync(${JSON.stringify(report)}, JSON.stringify({ pid: process.pid, tunables: process.env.GLIBC_TUNABLES ?? null }));`,
    );
    const child = spawnSync(bin, ["--version"], {
      encoding: "utf8",
      env: { ...env, NODE_OPTIONS: `--import=${probe}` },
    });
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const node = JSON.parse(readFileSync(report, "utf8")) as { pid: number; tunables: string | null };
    return { spawnedPid: child.pid, nodePid: node.pid, tunables: node.tunables };
  }

  it("is launchEnv's, set before node starts, in the same process (exec, no wrapper)", () => {
    const plain = launched(base);
    expect(plain.nodePid).toBe(plain.spawnedPid);
    expect(plain.tunables).toBe(LAUNCH_GLIBC_TUNABLES);
    expect(plain.tunables).toBe(launchEnv(base).GLIBC_TUNABLES);

    const own = { ...base, GLIBC_TUNABLES: "glibc.malloc.top_pad=0" };
    const withOwn = launched(own);
    expect(withOwn.tunables).toBe(`${LAUNCH_GLIBC_TUNABLES}:glibc.malloc.top_pad=0`);
    expect(withOwn.tunables).toBe(launchEnv(own).GLIBC_TUNABLES);

    const system = { ...base, SNAPLAKE_MALLOC: "system" };
    expect(launched(system).tunables).toBeNull();
    expect(launchEnv(system).GLIBC_TUNABLES).toBeUndefined();
  });

  it("gives malloc's memory huge pages wherever the kernel offers them on request", () => {
    const hugePages = `
import { readFileSync } from "node:fs";
import koffi from "koffi";
const libc = koffi.load("libc.so.6");
const size = 64 * 1024 * 1024;
libc.func("void *memset(void *s, int c, size_t n)")(libc.func("void *malloc(size_t size)")(size), 1, size);
const smaps = readFileSync("/proc/self/smaps_rollup", "utf8");
console.log(JSON.stringify(Number(/AnonHugePages:\\s+(\\d+)/.exec(smaps)?.[1])));
`;
    const mode = /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
    const launchedKb = runScript<number>(hugePages, launchEnv(base));
    const defaultKb = runScript<number>(hugePages, base);
    // Some huge pages, not necessarily all 32: a host with fragmented memory may serve part in 4 KiB pages.
    if (mode === "never") expect(launchedKb).toBe(0);
    else expect(launchedKb).toBeGreaterThan(0);
    if (mode === "madvise") expect(defaultKb).toBe(0);
  });
});
