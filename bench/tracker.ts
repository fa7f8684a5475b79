/**
 * Tracker benchmark (not a test): starts its own DynamoDB Local (and dynalite with `--dynalite`) and prints
 * - DynamoDB requests per task: planning, and the runTask happy path (claim + complete);
 * - tasks/second for 8 concurrent workers. The workers are in-process async loops, each with its own
 *   client, in two modes: "queue" (a shared iterator hands each task to one worker: pure tracker cost)
 *   and "race" (each worker reads todo itself and walks it from a random point, re-reading it after 5 lost
 *   claims in a row: what independent worker processes do).
 *
 * usage: npx tsx bench/tracker.ts [--tasks 2000] [--workers 8] [--dynalite]
 */
import { parseArgs } from "node:util";
import { createDynamoDBClient } from "../src/clients/aws.js";
import { DynamoTracker } from "../src/tracker/index.js";
import { type RunningServer, startDynalite, startDynamoDbLocal } from "../test/support/servers.js";
import { countRequests } from "../test/tracker/support/request-counter.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "2000" },
    workers: { type: "string", default: "8" },
    dynalite: { type: "boolean", default: false },
  },
});
const TASKS = Number(values.tasks);
const WORKERS = Number(values.workers);
const credentials = { accessKeyId: "snaplakebench", secretAccessKey: "snaplakebench" };

function tracker(endpoint: string, tableName: string) {
  const client = createDynamoDBClient({ endpoint, credentials });
  const requests = countRequests(client);
  return { client, requests, tracker: new DynamoTracker({ client, tableName }) };
}

const specs = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ taskId: `${prefix}-${String(i).padStart(6, "0")}`, input: { i } }));

const perTask = (requests: ReturnType<typeof countRequests>, n: number) =>
  Object.entries(requests.byCommand())
    .map(([command, count]) => `${command} ${(count / n).toFixed(2)}`)
    .join(", ");

async function bench(name: string, server: RunningServer): Promise<void> {
  const main = tracker(server.endpoint, `bench-${Date.now()}`);
  await main.tracker.createTable();
  const project = "bench";

  // Requests per task, one worker, trivial task function.
  const happy = specs("happy", 200);
  main.requests.reset();
  await main.tracker.createTasks(project, "happy", happy);
  const planned = main.requests.total() / happy.length;
  const plannedDetail = perTask(main.requests, happy.length);
  main.requests.reset();
  await main.tracker.createTasks(project, "happy", happy);
  const replanned = main.requests.total() / happy.length;
  main.requests.reset();
  for (const { taskId } of happy)
    await main.tracker.runTask(project, "happy", taskId, async () => ({ ok: 1 }));
  console.log(
    `[${name}] planning: ${planned.toFixed(2)} requests/task (${plannedDetail}); re-plan ${replanned.toFixed(2)}`,
  );
  console.log(
    `[${name}] runTask happy path: ${(main.requests.total() / happy.length).toFixed(2)} requests/task (${perTask(main.requests, happy.length)})`,
  );

  for (const mode of ["queue", "race"] as const) {
    const step = `throughput-${mode}`;
    await main.tracker.createTasks(project, step, specs(mode, TASKS));
    const workers = Array.from({ length: WORKERS }, () => tracker(server.endpoint, main.tracker.tableName));
    const queue = specs(mode, TASKS)
      .map((s) => s.taskId)
      [Symbol.iterator]();
    const started = performance.now();
    let succeeded = 0;
    await Promise.all(
      workers.map(async (worker) => {
        if (mode === "queue") {
          for (const taskId of queue) {
            const result = await worker.tracker.runTask(project, step, taskId, async () => ({ ok: 1 }));
            if (result.outcome === "succeeded") succeeded += 1;
          }
          return;
        }
        for (;;) {
          const todo = await worker.tracker.todo(project, step);
          if (todo.length === 0) return;
          // Start at a random point; after a few lost races the list is stale: read it again.
          const offset = Math.floor(Math.random() * todo.length);
          let misses = 0;
          for (const task of [...todo.slice(offset), ...todo.slice(0, offset)]) {
            const result = await worker.tracker.runTask(project, step, task.taskId, async () => ({ ok: 1 }));
            if (result.outcome === "succeeded") succeeded += 1;
            misses = result.outcome === "not_claimable" ? misses + 1 : 0;
            if (misses >= 5) break;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const total = workers.reduce((sum, w) => sum + w.requests.total(), 0);
    console.log(
      `[${name}] ${WORKERS} in-process workers, ${mode}: ${succeeded}/${TASKS} tasks in ${seconds.toFixed(1)} s = ` +
        `${(succeeded / seconds).toFixed(0)} tasks/s, ${(total / TASKS).toFixed(2)} requests/task`,
    );
    for (const worker of workers) worker.client.destroy();
  }
  main.client.destroy();
}

const backends: Array<[string, () => Promise<RunningServer>]> = [["dynamodb-local", startDynamoDbLocal]];
if (values.dynalite) backends.push(["dynalite", () => startDynalite()]);
for (const [name, start] of backends) {
  const server = await start();
  try {
    await bench(name, server);
  } finally {
    await server.stop();
  }
}
