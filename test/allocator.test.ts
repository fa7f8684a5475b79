/**
 * keepFreedMemory, observed the way it matters: a 100 MB buffer allocated, touched and freed in a fresh
 * process either stays in the process for reuse (tuned) or goes back to the kernel (glibc's defaults map
 * anything above 32 MB on its own). Each case is a child process, since the tuning is process-wide.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

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

function runChild(env: Record<string, string>): Outcome {
  const { GLIBC_TUNABLES: _inherited, SNAPLAKE_MALLOC: _also, ...base } = process.env;
  const stdout = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", script],
    { encoding: "utf8", env: { ...base, ...env } },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as Outcome;
}

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
