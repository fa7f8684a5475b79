/**
 * Two revisions of snaplake, side by side on the same input, alternately: the way to check a performance
 * claim on a shared, noisy machine.
 *
 *   npm run bench:ab -- <rev-a> <rev-b> [--size-mb 500] [--rounds 3] [--workers 2] [--seed 2024]
 *
 * Each revision is checked out as a git worktree under a temp folder (node_modules linked to this
 * checkout's), built once, and run as `bench/e2e.ts --child snaplake` of its own tree on the input this
 * tree's e2e.ts prepares: a, b, a, b, ... for `rounds` rounds. Prints each run, both means, and b / a.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBenchChild } from "./child.js";

interface Run {
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  rows: number;
  steps?: Array<{ step: string; seconds: number; cpuSeconds: number }>;
}

const repo = join(import.meta.dirname, "..");
const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "size-mb": { type: "string", default: "500" },
      rounds: { type: "string", default: "3" },
      workers: { type: "string", default: "2" },
      seed: { type: "string", default: "2024" },
    },
  });
  if (positionals.length !== 2) {
    console.error("usage: npm run bench:ab -- <rev-a> <rev-b> [--size-mb 500] [--rounds 3] [--workers 2]");
    process.exit(2);
  }
  const revisions = positionals.map((rev) => ({
    rev,
    commit: git("rev-parse", "--verify", `${rev}^{commit}`),
  }));
  const input = runBenchChild<{ root: string; mb: number }>(join(repo, "bench", "e2e.ts"), [
    "--prepare-only",
    "--size-mb",
    values["size-mb"] as string,
    "--seed",
    values.seed as string,
  ]);

  const base = mkdtempSync(join(tmpdir(), "snaplake-ab-"));
  const trees: string[] = [];
  try {
    for (const [index, { commit }] of revisions.entries()) {
      const tree = join(base, index === 0 ? "a" : "b");
      git("worktree", "add", "--detach", tree, commit);
      trees.push(tree);
      symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"));
      execFileSync("npm", ["run", "build"], { cwd: tree, stdio: "ignore" });
    }
    console.log(
      `a = ${revisions[0]!.rev} (${revisions[0]!.commit.slice(0, 7)}), b = ${revisions[1]!.rev} (${revisions[1]!.commit.slice(0, 7)}); ` +
        `input ${input.mb.toFixed(1)} MB, ${values.workers} workers, ${values.rounds} alternating rounds`,
    );
    const runs: Array<Run & { side: "a" | "b"; load: string }> = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [index, tree] of trees.entries()) {
        const output = join(base, `out-${index}-${round}`);
        // Older children count staging files in <output>/staging/datalake, which the per-project staging
        // layout no longer writes: an empty folder lets them report instead of failing.
        mkdirSync(join(output, "staging", "datalake"), { recursive: true });
        const before = loadavg()[0]!;
        const run = runBenchChild<Run>(join(tree, "bench", "e2e.ts"), [
          "--child",
          "snaplake",
          "--input",
          input.root,
          "--output",
          output,
          "--workers",
          values.workers as string,
        ]);
        rmSync(output, { recursive: true, force: true });
        const side = index === 0 ? "a" : "b";
        const load = `${before.toFixed(1)}→${loadavg()[0]!.toFixed(1)}`;
        runs.push({ ...run, side, load });
        const steps = run.steps?.map((s) => `${s.step} ${s.seconds.toFixed(2)}/${s.cpuSeconds.toFixed(2)}`);
        console.log(
          `round ${round + 1} ${side}: ${run.seconds.toFixed(2)} s, ${run.cpuSeconds.toFixed(1)} CPU s, ` +
            `peak RSS ${run.maxRssMb.toFixed(0)} MB, ${run.rows} rows, load ${load}` +
            (steps ? `; steps (wall/CPU s): ${steps.join(", ")}` : ""),
        );
      }
    }
    const mean = (side: "a" | "b", pick: (r: Run) => number) => {
      const picked = runs.filter((r) => r.side === side).map(pick);
      return picked.reduce((x, y) => x + y, 0) / picked.length;
    };
    for (const side of ["a", "b"] as const) {
      console.log(
        `${side}: mean ${mean(side, (r) => r.seconds).toFixed(2)} s, ${mean(side, (r) => r.cpuSeconds).toFixed(1)} CPU s, ` +
          `peak RSS ${Math.max(...runs.filter((r) => r.side === side).map((r) => r.maxRssMb)).toFixed(0)} MB`,
      );
    }
    console.log(
      `b / a: ${(mean("b", (r) => r.seconds) / mean("a", (r) => r.seconds)).toFixed(2)} in seconds, ` +
        `${(mean("b", (r) => r.cpuSeconds) / mean("a", (r) => r.cpuSeconds)).toFixed(2)} in CPU seconds`,
    );
  } finally {
    for (const tree of trees) {
      if (existsSync(tree)) git("worktree", "remove", "--force", tree);
    }
    rmSync(base, { recursive: true, force: true });
  }
}

main();
