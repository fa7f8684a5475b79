/**
 * Benchmarks measure each engine in a child process of their own script, so peak RSS (getrusage maxRSS)
 * belongs to that engine alone. The child prints one JSON line last; the parent reads it.
 */
import { execFileSync } from "node:child_process";
import { launchEnv } from "../src/allocator.js";

/**
 * Runs `script` (under tsx) as a child with `args` and returns the JSON of the last line it printed. Every
 * engine's child starts in the environment the `snaplake` command gives node (launchEnv: glibc's allocator
 * tunables, unless SNAPLAKE_MALLOC=system), so snaplake is measured as users run it and the engines side by
 * side share one environment.
 */
export function runBenchChild<T>(
  script: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): T {
  const stdout = execFileSync(process.execPath, [...nodeArgs, "--import", "tsx", script, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...launchEnv(process.env), NODE_NO_WARNINGS: "1" }, // the AWS SDK's Node 20 notice, once per child
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as T;
}

/** The child's side: its result, as the last line on stdout. */
export function reportToParent(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** This process's CPU seconds since `start` and its peak RSS so far. */
export function usageSince(start: NodeJS.CpuUsage): { cpuSeconds: number; maxRssMb: number } {
  const cpu = process.cpuUsage(start);
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb: peakRssMb() };
}

/** This process's peak resident set size so far, in MB (getrusage maxRSS). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** One line for a benchmark's output: the allocator environment its children start in. */
export function launchNote(): string {
  const tunables = launchEnv(process.env).GLIBC_TUNABLES;
  return tunables
    ? `children start as the snaplake command starts node: GLIBC_TUNABLES=${tunables} (SNAPLAKE_MALLOC=system: glibc's defaults)`
    : "children start with glibc's allocator defaults (SNAPLAKE_MALLOC=system)";
}
