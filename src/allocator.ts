/**
 * How the process's C allocator gets and keeps memory. polars and zlib allocate and free buffers of tens of
 * MB for every batch; with glibc's defaults each one is mapped from the kernel, zero-filled page by page,
 * and handed back when freed, only to be mapped again for the next batch. Two remedies, measured in
 * BENCHMARKS.md:
 *
 *  - Keep freed memory in the process for reuse (~10% less CPU on `npm run bench` for ~10-20% more peak
 *    RSS): glibc's mmap threshold 256 MiB, trim threshold 1 GiB, top pad 64 MiB. `keepFreedMemory` applies
 *    them from inside the process with `mallopt(3)` (through the optional FFI package koffi), so the Lambda
 *    handler and any program that opens a runtime get them without a launcher.
 *  - Ask for transparent huge pages (`glibc.malloc.hugetlb=1`, glibc 2.35+): one page fault maps 2 MiB
 *    instead of 4 KiB. Where faults are dear (virtual machines) the reader took 0.78x the time and a whole
 *    run 0.85x, side by side. glibc reads it only when the process starts, so it takes a launcher: the
 *    `snaplake` command (bin/snaplake.js) sets `LAUNCH_GLIBC_TUNABLES`, both remedies at once, before node
 *    starts; `launchEnv` gives the same environment to programs that start snaplake processes themselves
 *    (cron wrappers, the benchmarks).
 */

/** Above this size an allocation is mapped on its own (and unmapped when freed); glibc's default is 128 KiB, growing. */
const MMAP_THRESHOLD = 256 * 1024 * 1024;
/** Free memory at the top of the heap is handed back to the kernel only above this; glibc's default is 128 KiB. */
const TRIM_THRESHOLD = 1024 * 1024 * 1024;
/** The heap grows by at least this much at a time; glibc's default is 128 KiB. */
const TOP_PAD = 64 * 1024 * 1024;

// mallopt(3) parameter numbers, from glibc's <malloc.h>.
const M_TRIM_THRESHOLD = -1;
const M_TOP_PAD = -2;
const M_MMAP_THRESHOLD = -3;

/** Set SNAPLAKE_MALLOC=system to keep the allocator's defaults (e.g. a Lambda sized to the byte). */
export const ALLOCATOR_ENV = "SNAPLAKE_MALLOC";

/** Transparent huge pages for malloc's memory (madvise); glibc before 2.35 ignores the name. */
const HUGE_PAGES = "glibc.malloc.hugetlb=1";

/** What the `snaplake` command puts in GLIBC_TUNABLES before node starts (bin/snaplake.js, tested equal). */
export const LAUNCH_GLIBC_TUNABLES = [
  HUGE_PAGES,
  `glibc.malloc.mmap_threshold=${MMAP_THRESHOLD}`,
  `glibc.malloc.trim_threshold=${TRIM_THRESHOLD}`,
  `glibc.malloc.top_pad=${TOP_PAD}`,
].join(":");

/**
 * The environment the `snaplake` command gives node: `env` with LAUNCH_GLIBC_TUNABLES first in
 * GLIBC_TUNABLES (what `env` sets there comes after, so it wins), or unchanged with SNAPLAKE_MALLOC=system.
 */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env[ALLOCATOR_ENV] === "system") return { ...env };
  const own = env.GLIBC_TUNABLES ? `:${env.GLIBC_TUNABLES}` : "";
  return { ...env, GLIBC_TUNABLES: `${LAUNCH_GLIBC_TUNABLES}${own}` };
}

export type AllocatorTuning = { applied: true } | { applied: false; reason: string };

let outcome: Promise<AllocatorTuning> | undefined;

/**
 * Makes glibc keep freed memory for reuse (once per process; later calls return the first outcome). Never
 * throws: where it cannot apply (not Linux with glibc, koffi not installed, SNAPLAKE_MALLOC=system, or the
 * environment already sets glibc.malloc tunables, which then win) it says why and changes nothing.
 */
export function keepFreedMemory(env: NodeJS.ProcessEnv = process.env): Promise<AllocatorTuning> {
  outcome ??= apply(env);
  return outcome;
}

async function apply(env: NodeJS.ProcessEnv): Promise<AllocatorTuning> {
  if (env[ALLOCATOR_ENV] === "system") return { applied: false, reason: `${ALLOCATOR_ENV}=system` };
  if (env.GLIBC_TUNABLES?.includes("glibc.malloc.")) {
    return { applied: false, reason: "GLIBC_TUNABLES sets the allocator already" };
  }
  if (process.platform !== "linux") return { applied: false, reason: `not Linux (${process.platform})` };
  let mallopt: (param: number, value: number) => number;
  try {
    const koffi = (await import("koffi")).default;
    // musl and other C libraries have no libc.so.6: loading it fails, and nothing changes.
    mallopt = koffi.load("libc.so.6").func("int mallopt(int param, int value)");
  } catch (error) {
    return { applied: false, reason: `mallopt unavailable (${(error as Error).message})` };
  }
  // In this order, stopping at a refusal: a high trim threshold without the mmap threshold (glibc then
  // stops raising it) maps every large buffer on its own and was 40% slower than the defaults.
  const settings: Array<[number, number]> = [
    [M_MMAP_THRESHOLD, MMAP_THRESHOLD],
    [M_TRIM_THRESHOLD, TRIM_THRESHOLD],
    [M_TOP_PAD, TOP_PAD],
  ];
  for (const [param, value] of settings) {
    if (mallopt(param, value) !== 1) return { applied: false, reason: `mallopt(${param}, ${value}) refused` };
  }
  return { applied: true };
}
