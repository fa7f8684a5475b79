/**
 * Chaos: worker processes share one step's tasks while the test SIGKILLs some mid-task, starts new ones,
 * and freezes one (SIGSTOP) until its task is taken over, then thaws it.
 *
 * What "exactly once" means here: an attempt may *stage* its effect (a file named by its lease token,
 * written to a temp name and renamed, so whole or absent), but only the tracker's record commits it:
 * `complete()` stores the token, and fencing lets exactly one `complete()` per task succeed. So every
 * task must name exactly one staged effect, that file must exist, and no worker may ever have seen a
 * `complete()` succeed with any other token. Effects staged by lost attempts are uncommitted leftovers.
 *
 * The workers run the built tracker (dist/, compiled by `npm test`): run `npm run build` after changing
 * src/ when running this file on its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { builtFile } from "../support/cli.js";
import { dynamoBackends, uniqueName } from "../support/clients.js";
import { createTestTracker, sleep } from "./support/tracker.js";

const TASKS = 300;
const WORKERS = 6;
const KILLS = 4;
const LEASE_MS = 1_500;
const STEP = "effects";
/** Plain JavaScript on the built tracker (dist/, compiled by `npm test`): `node` starts it without tsx. */
const WORKER = fileURLToPath(new URL("./fixtures/chaos-worker.mjs", import.meta.url));
builtFile("tracker/index.js");

interface LogLine {
  event: string;
  pid: number;
  taskId?: string;
  token?: string;
  attempt?: number;
}

interface Worker {
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  stderr: string[];
}

function readLog(file: string): LogLine[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as LogLine);
}

describe.each(dynamoBackends())("tracker chaos on $name", ({ endpoint }) => {
  it(`${WORKERS} worker processes finish ${TASKS} tasks exactly once despite kills and a frozen worker`, async () => {
    const { client, tracker } = await createTestTracker(endpoint, { maxAttempts: 10 });
    const project = uniqueName("chaos");
    const dir = mkdtempSync(join(tmpdir(), "snaplake-chaos-"));
    const effectsDir = join(dir, "effects");
    mkdirSync(effectsDir);
    const workers: Worker[] = [];
    const taskIds = Array.from({ length: TASKS }, (_, i) => `task-${String(i).padStart(4, "0")}`);

    function startWorker(): Worker {
      const logFile = join(dir, `worker-${workers.length}.log`);
      const args = [endpoint, tracker.tableName, project, STEP, effectsDir, logFile, String(LEASE_MS)];
      const child = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "ignore", "pipe"] });
      const stderr: string[] = [];
      child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const worker = { child, logFile, exited, stderr };
      workers.push(worker);
      return worker;
    }
    const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    /** A live worker whose last logged event is a claim: it is in the middle of a task. */
    async function findMidTask(exclude: Worker[] = []): Promise<{ worker: Worker; line: LogLine }> {
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline) {
        for (const worker of alive()) {
          if (exclude.includes(worker)) continue;
          const line = readLog(worker.logFile).at(-1);
          if (line?.event === "claimed") return { worker, line };
        }
        await sleep(10);
      }
      const states = workers.map(
        (w) =>
          `pid ${w.child.pid} exit=${w.child.exitCode ?? w.child.signalCode} last=${JSON.stringify(readLog(w.logFile).at(-1))} ${w.stderr.join("").slice(-500)}`,
      );
      console.error(states.join("\n"));
      throw new Error(`no worker was caught mid-task within 45 s (worker states above)`);
    }

    /** Worker start-up (the AWS SDK) is slow on a loaded machine: wait until every worker has begun. */
    async function allStarted(): Promise<void> {
      const deadline = Date.now() + 120_000;
      while (!workers.every((w) => readLog(w.logFile).length > 0 || w.child.signalCode === "SIGKILL")) {
        if (Date.now() > deadline) throw new Error("workers did not start within 120 s");
        await sleep(50);
      }
    }

    try {
      await tracker.createTasks(
        project,
        STEP,
        taskIds.map((taskId) => ({ taskId, input: { n: taskId } })),
      );
      for (let i = 0; i < WORKERS; i++) startWorker();
      await allStarted();

      // Kill some workers in the middle of a task and start replacements.
      const killed: LogLine[] = [];
      for (let k = 0; k < KILLS; k++) {
        const { worker } = await findMidTask();
        worker.child.kill("SIGKILL");
        await worker.exited;
        // The log is complete up to the kill: if it still ends in "claimed", that attempt never staged.
        const last = readLog(worker.logFile).at(-1);
        if (last?.event === "claimed") killed.push(last);
        startWorker();
      }

      // Freeze one worker mid-task until another worker has taken its task over, then let it run on.
      let frozen = await findMidTask();
      for (;;) {
        frozen.worker.child.kill("SIGSTOP");
        await sleep(50);
        // Still mid-task once frozen? Otherwise it slipped past the claim: thaw it and pick again.
        if (readLog(frozen.worker.logFile).at(-1)?.token === frozen.line.token) break;
        frozen.worker.child.kill("SIGCONT");
        frozen = await findMidTask();
      }
      const frozenTask = frozen.line.taskId as string;
      try {
        const deadline = Date.now() + 90_000;
        for (;;) {
          const task = await tracker.get(project, STEP, frozenTask);
          if ((task?.attempts ?? 0) > (frozen.line.attempt ?? 0)) break;
          if (Date.now() > deadline) throw new Error(`${frozenTask} was never taken over`);
          await sleep(100);
        }
      } finally {
        frozen.worker.child.kill("SIGCONT");
      }

      const exitCodes = await Promise.race([
        Promise.all(alive().map((w) => w.exited)),
        sleep(120_000).then(() => "timeout" as const),
      ]);
      expect(exitCodes, workers.flatMap((w) => w.stderr).join("\n")).not.toBe("timeout");
      for (const worker of workers) {
        if (worker.child.signalCode !== "SIGKILL")
          expect(worker.child.exitCode, worker.stderr.join("")).toBe(0);
      }

      // Every task succeeded; nothing is left in progress.
      const barrier = await tracker.barrier(project, STEP);
      expect(barrier.missing.map((t) => `${t.taskId}:${t.status}`)).toEqual([]);
      expect(barrier).toMatchObject({ complete: true, total: TASKS });
      expect(barrier.counts.in_progress).toBe(0);

      const tasks = await tracker.list(project, STEP);
      const lines = workers.flatMap((w) => readLog(w.logFile));
      const claimedTokens = new Set(
        lines.filter((l) => l.event === "claimed").map((l) => `${l.taskId}/${l.token}`),
      );
      const staged = new Set(readdirSync(effectsDir).filter((name) => !name.startsWith(".")));
      for (const task of tasks) {
        // The committed effect: the one staged file the tracker's record names, issued to a real attempt.
        const token = String(task.output.token);
        expect(task.output.effect).toBe(`${task.taskId}.${token}.json`);
        expect(staged.has(`${task.taskId}.${token}.json`)).toBe(true);
        expect(
          JSON.parse(readFileSync(join(effectsDir, `${task.taskId}.${token}.json`), "utf8")),
        ).toMatchObject({
          taskId: task.taskId,
          token,
        });
        expect(claimedTokens.has(`${task.taskId}/${token}`)).toBe(true);
        // No worker ever saw a second complete() succeed for this task.
        const succeeded = lines.filter((l) => l.event === "succeeded" && l.taskId === task.taskId);
        expect(succeeded.length).toBeLessThanOrEqual(1);
        for (const line of succeeded) expect(line.token).toBe(token);
      }

      // The chaos really happened: each killed attempt was taken over and left a trace in the history.
      expect(killed.length).toBeGreaterThan(0);
      for (const victim of killed) {
        const task = tasks.find((t) => t.taskId === victim.taskId);
        expect(task?.attempts).toBeGreaterThan(victim.attempt ?? 0);
        expect(task?.errors).toContainEqual(
          expect.objectContaining({ attempt: victim.attempt, name: "LeaseExpiredError" }),
        );
      }
      // The frozen worker woke up after a takeover: fencing told it so, and its result was not recorded.
      const orphans = [...staged].filter((name) => !tasks.some((t) => t.output.effect === name));
      console.info(
        `chaos: ${killed.length} killed mid-task, ${tasks.filter((t) => t.attempts > 1).length} tasks retried, ` +
          `${lines.filter((l) => l.event === "lease_lost").length} lease_lost, ${orphans.length} uncommitted effects`,
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ event: "lease_lost", taskId: frozenTask, token: frozen.line.token }),
      );
      expect(tasks.find((t) => t.taskId === frozenTask)?.output.token).not.toBe(frozen.line.token);
    } finally {
      for (const worker of alive()) worker.child.kill("SIGKILL");
      client.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);
});
