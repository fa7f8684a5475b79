import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DynamoTracker,
  type DynamoTrackerOptions,
  InvalidTaskKeyError,
  LeaseLostError,
  TaskDataTooLargeError,
  TrackerTableError,
} from "../../src/tracker/index.js";
import { dynamoBackends, uniqueName } from "../support/clients.js";
import { countRequests, type RequestCounter } from "./support/request-counter.js";
import { createTestTracker, sameTable, sleep } from "./support/tracker.js";

describe.each(dynamoBackends())("DynamoTracker on $name", ({ endpoint }) => {
  let tracker: DynamoTracker;
  let requests: RequestCounter;
  const clients: DynamoDBClient[] = [];
  const step = "convert";

  beforeAll(async () => {
    const created = await createTestTracker(endpoint);
    tracker = created.tracker;
    requests = created.requests;
    clients.push(created.client);
  });
  afterAll(() => {
    for (const client of clients) client.destroy();
  });

  /** A second worker on the same table, e.g. with a short lease. */
  function worker(options: Omit<Partial<DynamoTrackerOptions>, "client" | "tableName"> = {}): DynamoTracker {
    const other = sameTable(endpoint, tracker.tableName, options);
    clients.push(other.client);
    return other.tracker;
  }

  it("creates the table idempotently and refuses a table without the index", async () => {
    await expect(tracker.createTable()).resolves.toBeUndefined();
    const wrongIndex = worker({ indexName: "no-such-index" });
    await expect(wrongIndex.createTable()).rejects.toThrow(TrackerTableError);
    await expect(wrongIndex.createTable()).rejects.toThrow(/no index "no-such-index"/);
  });

  it("plans, claims and completes a task in two requests", async () => {
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [{ taskId: "s3://bucket/a.csv", input: { bytes: 12 } }]);

    const before = await tracker.get(project, step, "s3://bucket/a.csv");
    expect(before).toMatchObject({
      status: "pending",
      attempts: 0,
      maxAttempts: 3,
      input: { bytes: 12 },
      output: {},
    });

    requests.reset();
    const result = await tracker.runTask(project, step, "s3://bucket/a.csv", async ({ input, lease }) => {
      expect(lease.attempt).toBe(1);
      return { rows: Number(input.bytes) * 2 };
    });
    expect(requests.byCommand()).toEqual({ UpdateItem: 2 });

    expect(result.outcome).toBe("succeeded");
    const task = await tracker.get(project, step, "s3://bucket/a.csv");
    expect(task).toMatchObject({ status: "succeeded", attempts: 1, output: { rows: 24 }, errors: [] });
    expect(task?.leaseToken).toBeUndefined();
    expect(task?.leaseExpiresAt).toBeUndefined();
    expect(Date.parse(task?.finishedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(task?.startedAt ?? ""));
    expect(await tracker.counts(project, step)).toEqual({
      pending: 0,
      in_progress: 0,
      failed: 0,
      succeeded: 1,
      ignored: 0,
    });
    // A succeeded task cannot be claimed again.
    expect(await tracker.claim(project, step, "s3://bucket/a.csv")).toBeUndefined();
  });

  it("re-planning never duplicates tasks nor resets a succeeded one", async () => {
    const project = uniqueName("p");
    const specs = ["a", "b", "c"].map((taskId) => ({ taskId, input: { file: `${taskId}.csv` } }));
    expect(await tracker.createTasks(project, step, specs)).toEqual({ created: 3, existing: 0 });
    const lease = await tracker.claim(project, step, "a");
    expect(lease).toBeDefined();
    if (lease) await tracker.complete(lease, { rows: 7 });

    const replanned = [
      ...specs.map((s) => ({ ...s, input: { file: "changed" } })),
      { taskId: "d", input: {} },
    ];
    expect(await tracker.createTasks(project, step, replanned)).toEqual({ created: 1, existing: 3 });

    const tasks = await tracker.list(project, step);
    expect(tasks.map((t) => t.taskId)).toEqual(["a", "b", "c", "d"]);
    expect(tasks[0]).toMatchObject({ status: "succeeded", output: { rows: 7 }, input: { file: "a.csv" } });
    expect(tasks[1]).toMatchObject({ status: "pending", input: { file: "b.csv" } });
  });

  it("deletes the given tasks of a step, or all of them, whatever their status", async () => {
    const project = uniqueName("p");
    const specs = ["a", "b", "c"].map((taskId) => ({ taskId, input: {} }));
    await tracker.createTasks(project, step, specs);
    await tracker.createTasks(project, "other", specs);
    await tracker.runTask(project, step, "a", async () => ({ rows: 1 }));
    expect(await tracker.deleteTasks(project, step, ["a", "missing"])).toBe(1);
    expect((await tracker.list(project, step)).map((t) => t.taskId)).toEqual(["b", "c"]);
    expect(await tracker.deleteTasks(project, step)).toBe(2);
    expect(await tracker.list(project, step)).toEqual([]);
    expect(await tracker.counts(project, step)).toMatchObject({ pending: 0, succeeded: 0 });
    expect(await tracker.list(project, "other")).toHaveLength(3); // another step is left alone
  });

  it("merges output on every update instead of replacing it", async () => {
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const first = await tracker.claim(project, step, "t");
    if (!first) throw new Error("not claimed");
    await tracker.fail(first, new Error("disk full"), { partial: { files: 2 }, kept: true });
    const second = await tracker.claim(project, step, "t");
    if (!second) throw new Error("not claimed");
    const done = await tracker.complete(second, { partial: { files: 5 }, "dotted.key": 1 });
    expect(done.output).toEqual({ partial: { files: 5 }, kept: true, "dotted.key": 1 });
    expect(done.status).toBe("succeeded");
  });

  it("lets another worker take over a task whose lease expired", async () => {
    const project = uniqueName("p");
    const shortLease = worker({ leaseMs: 1_500 });
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);

    const crashed = await shortLease.claim(project, step, "t");
    expect(crashed?.attempt).toBe(1);
    // The crashed worker never heartbeats nor completes. Until the lease expires nobody can claim it.
    expect(await shortLease.claim(project, step, "t")).toBeUndefined();
    expect((await tracker.todo(project, step)).map((t) => t.taskId)).toEqual([]);
    expect(Date.now()).toBeLessThan(crashed?.expiresAt ?? 0); // (else the machine is too slow for this test)

    await sleep(Math.max(0, (crashed?.expiresAt ?? 0) - Date.now()) + 100);
    expect((await tracker.todo(project, step)).map((t) => t.taskId)).toEqual(["t"]);
    const takeover = await tracker.claim(project, step, "t");
    expect(takeover?.attempt).toBe(2);
    expect(takeover?.token).not.toBe(crashed?.token);
    expect(takeover?.task.errors).toMatchObject([
      { attempt: 1, name: "LeaseExpiredError", code: "TASK_LEASE_EXPIRED" },
    ]);
  });

  it("takes over at once a task whose holder is a gone process of this machine, only when told to", async () => {
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [
      { taskId: "t", input: {} },
      { taskId: "u", input: {} },
    ]);
    const gonePid = spawnSync(process.execPath, ["-e", ""]).pid;
    const gone = worker({ owner: `${gonePid}@${hostname()}` }); // 5-minute lease
    const elsewhere = worker({ owner: `${gonePid}@another-host` });
    const held = await gone.claim(project, step, "t");
    expect(await elsewhere.claim(project, step, "u")).toBeDefined();
    expect((await tracker.get(project, step, "t"))?.leaseOwner).toBe(`${gonePid}@${hostname()}`);
    // A shared table (the default): the lease must expire first.
    expect(await tracker.claim(project, step, "t")).toBeUndefined();
    expect(await tracker.todo(project, step)).toEqual([]);

    const local = worker({ reclaimFromGoneLocalOwners: true });
    expect((await local.todo(project, step)).map((t) => t.taskId)).toEqual(["t"]);
    const takeover = await local.claim(project, step, "t");
    expect(takeover?.attempt).toBe(2);
    expect(takeover?.task.leaseOwner).toBe(local.owner);
    expect(takeover?.task.errors).toMatchObject([
      { attempt: 1, name: "LeaseHolderGoneError", code: "TASK_LEASE_HOLDER_GONE" },
    ]);
    await expect(gone.complete(held!)).rejects.toThrow(LeaseLostError);
    // Neither a holder on another host nor a live local one (this process) is taken over.
    expect(await local.claim(project, step, "u")).toBeUndefined();
    expect(await local.claim(project, step, "t")).toBeUndefined();
    expect((await local.todo(project, step)).map((t) => t.taskId)).toEqual([]);
  });

  it("fences a worker whose lease was taken over: its complete and fail are rejected", async () => {
    const project = uniqueName("p");
    const slow = worker({ leaseMs: 300 });
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const old = await slow.claim(project, step, "t");
    if (!old) throw new Error("not claimed");
    await sleep(400);
    const current = await tracker.claim(project, step, "t");
    if (!current) throw new Error("not taken over");

    const rejected = await slow.complete(old, { from: "old owner" }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(LeaseLostError);
    expect(rejected).toMatchObject({
      code: "TASK_LEASE_LOST",
      currentStatus: "in_progress",
      currentAttempt: 2,
    });
    expect(String((rejected as Error).message)).toContain('task "t" of step "convert"');
    await expect(slow.fail(old, new Error("late failure"))).rejects.toThrow(LeaseLostError);
    await expect(slow.heartbeat(old)).rejects.toThrow(LeaseLostError);

    const done = await tracker.complete(current, { from: "new owner" });
    expect(done.output).toEqual({ from: "new owner" });
    // Even after the new owner finished, the old lease stays dead.
    await expect(slow.complete(old, { from: "old owner" })).rejects.toThrow(LeaseLostError);
    expect(await tracker.get(project, step, "t")).toMatchObject({
      status: "succeeded",
      attempts: 2,
      output: { from: "new owner" },
    });
  });

  it("keeps the lease alive with heartbeats while the task runs", async () => {
    const project = uniqueName("p");
    const heartbeating = worker({ leaseMs: 1_500, heartbeatMs: 200 });
    const rival = worker({ leaseMs: 1_500 });
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const rivalClaims: unknown[] = [];
    const result = await heartbeating.runTask(project, step, "t", async () => {
      // 6 x 400 ms: without heartbeats the lease would have expired and the rival would win.
      for (let i = 0; i < 6; i++) {
        await sleep(400);
        rivalClaims.push(await rival.claim(project, step, "t"));
      }
      return { ok: true };
    });
    expect(rivalClaims).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(result.outcome).toBe("succeeded");
    expect(result.task).toMatchObject({ status: "succeeded", attempts: 1, output: { ok: true } });
  });

  it("aborts the task's signal and records nothing when a heartbeat finds the lease lost", async () => {
    const project = uniqueName("p");
    const heartbeating = worker({ leaseMs: 1_000, heartbeatMs: 100 });
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    let sawAbort = false;
    const result = await heartbeating.runTask(project, step, "t", async ({ signal }) => {
      await sleep(50);
      // An operator resets the running task: its lease token is gone.
      await tracker.reset(project, step, { statuses: ["in_progress"] });
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      sawAbort = signal.aborted;
      return { shouldNot: "be recorded" };
    });
    expect(sawAbort).toBe(true);
    expect(result.outcome).toBe("lease_lost");
    if (result.outcome === "lease_lost") expect(result.error).toBeInstanceOf(LeaseLostError);
    expect(await tracker.get(project, step, "t")).toMatchObject({
      status: "pending",
      attempts: 0,
      output: {},
    });
  });

  it("ignores a task once attempts are exhausted, with its whole error history; reset makes it runnable", async () => {
    const project = uniqueName("p");
    await tracker.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const failing = async () => {
      throw Object.assign(new Error("bad input line 3"), { code: "BAD_LINE" });
    };
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await tracker.runTask(project, step, "t", failing);
      outcomes.push(`${result.outcome}:${result.task?.status}`);
    }
    expect(outcomes).toEqual(["failed:failed", "failed:failed", "failed:ignored"]);
    const refused = await tracker.runTask(project, step, "t", failing);
    expect(refused).toMatchObject({ outcome: "not_claimable", task: { status: "ignored", attempts: 3 } });

    const [ignored] = await tracker.failures(project, step);
    expect(ignored?.status).toBe("ignored");
    expect(ignored?.errors.map((e) => [e.attempt, e.name, e.message, e.code])).toEqual([
      [1, "Error", "bad input line 3", "BAD_LINE"],
      [2, "Error", "bad input line 3", "BAD_LINE"],
      [3, "Error", "bad input line 3", "BAD_LINE"],
    ]);
    expect(ignored?.errors[0]?.stack).toContain("bad input line 3");
    expect(await tracker.todo(project, step)).toEqual([]);

    expect(await tracker.reset(project, step)).toBe(1);
    const reset = await tracker.get(project, step, "t");
    expect(reset).toMatchObject({ status: "pending", attempts: 0 });
    expect(reset?.errors).toHaveLength(3);
    const rerun = await tracker.runTask(project, step, "t", async () => ({ fixed: true }));
    expect(rerun.task).toMatchObject({ status: "succeeded", attempts: 1, output: { fixed: true } });
  });

  it("marks a task ignored when its last allowed attempt's lease expires", async () => {
    const project = uniqueName("p");
    const shortLease = worker({ leaseMs: 200 });
    await shortLease.createTasks(project, step, [{ taskId: "t", input: {} }], { maxAttempts: 1 });
    expect(await shortLease.claim(project, step, "t")).toBeDefined();
    await sleep(300);
    expect((await tracker.todo(project, step)).map((t) => t.taskId)).toEqual(["t"]);
    expect(await tracker.claim(project, step, "t")).toBeUndefined();
    const task = await tracker.get(project, step, "t");
    expect(task).toMatchObject({ status: "ignored", attempts: 1 });
    expect(task?.errors).toMatchObject([{ attempt: 1, name: "LeaseExpiredError" }]);
    expect(task?.leaseToken).toBeUndefined();
  });

  it("bounds the error history and truncates long messages", async () => {
    const project = uniqueName("p");
    const bounded = worker({ maxErrorHistory: 2 });
    await bounded.createTasks(project, step, [{ taskId: "t", input: {} }], { maxAttempts: 4 });
    for (let i = 1; i <= 4; i++) {
      await bounded.runTask(project, step, "t", async () => {
        throw new Error(`failure ${i} ${"x".repeat(5_000)}`);
      });
    }
    const task = await bounded.get(project, step, "t");
    expect(task?.status).toBe("ignored");
    expect(task?.errors.map((e) => e.attempt)).toEqual([3, 4]);
    expect(task?.errors[1]?.message.length).toBeLessThanOrEqual(1_000);
  });

  it("answers the barrier with what is missing", async () => {
    const project = uniqueName("p");
    expect(await tracker.barrier(project, step)).toMatchObject({ complete: false, total: 0, missing: [] });
    await tracker.createTasks(
      project,
      step,
      ["a", "b", "c"].map((taskId) => ({ taskId, input: {} })),
    );
    await tracker.runTask(project, step, "a", async () => ({}));
    await tracker.runTask(project, step, "b", async () => {
      throw new Error("boom");
    });
    const partial = await tracker.barrier(project, step);
    expect(partial.complete).toBe(false);
    expect(partial.counts).toMatchObject({ succeeded: 1, failed: 1, pending: 1 });
    expect(partial.missing.map((t) => [t.taskId, t.status, t.errors.at(-1)?.message])).toEqual([
      ["b", "failed", "boom"],
      ["c", "pending", undefined],
    ]);
    await tracker.runTask(project, step, "b", async () => ({}));
    await tracker.runTask(project, step, "c", async () => ({}));
    expect(await tracker.barrier(project, step)).toMatchObject({ complete: true, total: 3, missing: [] });
    // Another step of the same project is independent.
    expect((await tracker.barrier(project, "other-step")).complete).toBe(false);
  });

  it("reads every page of list, todo and counts (250 tasks, pages of 50)", async () => {
    const project = uniqueName("p");
    const { client, tracker: paged } = sameTable(endpoint, tracker.tableName, { pageSize: 50 });
    clients.push(client);
    const pagedRequests = countRequests(client);
    const specs = Array.from({ length: 250 }, (_, i) => ({
      taskId: `task-${String(i).padStart(5, "0")}`,
      input: { i },
    }));
    expect(await paged.createTasks(project, step, specs)).toEqual({ created: 250, existing: 0 });
    expect(await paged.createTasks(project, step, specs)).toEqual({ created: 0, existing: 250 });

    pagedRequests.reset();
    const all = await paged.list(project, step);
    // 250 items in pages of 50: five pages, plus the empty page that ends a query when the last page is full.
    expect(pagedRequests.byCommand().Query).toBeGreaterThanOrEqual(5);
    const [todo, counts, pending] = await Promise.all([
      paged.todo(project, step),
      paged.counts(project, step),
      paged.list(project, step, { statuses: ["pending"] }),
    ]);
    expect(all).toHaveLength(250);
    expect(new Set(all.map((t) => t.taskId)).size).toBe(250);
    expect(todo).toHaveLength(250);
    expect(pending).toHaveLength(250);
    expect(counts.pending).toBe(250);
  }, 180_000);

  it("rejects oversized data and unusable keys with typed errors", async () => {
    const project = uniqueName("p");
    const small = worker({ maxDataBytes: 1_000 });
    await expect(
      small.createTasks(project, step, [{ taskId: "big", input: { blob: "x".repeat(2_000) } }]),
    ).rejects.toThrow(TaskDataTooLargeError);
    await small.createTasks(project, step, [{ taskId: "t", input: {} }]);
    const result = await small.runTask(project, step, "t", async () => ({ blob: "y".repeat(2_000) }));
    expect(result.outcome).toBe("failed");
    expect(result.task?.errors.at(-1)).toMatchObject({
      name: "TaskDataTooLargeError",
      code: "TASK_DATA_TOO_LARGE",
    });

    await expect(tracker.createTasks("a#b", step, [])).rejects.toThrow(InvalidTaskKeyError);
    await expect(tracker.createTasks(project, step, [{ taskId: "", input: {} }])).rejects.toThrow(
      InvalidTaskKeyError,
    );
    await expect(
      tracker.createTasks(project, step, [
        { taskId: "dup", input: {} },
        { taskId: "dup", input: {} },
      ]),
    ).rejects.toThrow(/appears twice/);
  });
});
