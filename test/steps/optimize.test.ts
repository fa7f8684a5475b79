/**
 * Optimize's commit rule and its tracking, made deterministic: a plan read at one version commits after
 * an append that landed in between (the append is kept), a plan whose inputs another rewrite removed is
 * superseded (nothing written), and a plan whose commit landed before its process died is not committed
 * again when the project runs optimize anew. Real Delta commits on local folders, tracker on dynalite.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { rewriteOptimizeGroup } from "../../src/steps/optimize.js";
import { openDeltaTable } from "../../src/table/delta/index.js";
import { appendOrdersBatch, ordersBatch } from "../support/delta-appends.js";
import {
  type ParquetProject,
  parquetProject,
  type TestContext,
  testContexts,
} from "../support/orders-project.js";
import { checkFiles, replayLog } from "../table/delta/independent-reader.js";

const newContext = testContexts();

async function tableOfAppends(appends: number) {
  const context = await newContext();
  const lake = `${context.root}lake`;
  for (let seed = 1; seed <= appends; seed++) await appendOrdersBatch(context.storage, lake, seed);
  const largest = Math.max(...(await openDeltaTable(context.storage, lake)).files.map((f) => f.size));
  const project = parquetProject(context, {
    datalakeUri: `${lake}/`,
    partitionKeys: ["status"],
    sortBy: ["order_time", "order_id"],
    targetParquetFileSize: Math.ceil(largest * 3.4),
    table: { format: "delta", mode: "append" },
  });
  return { context, lake, lakeDir: fileURLToPath(lake), project, target: Math.ceil(largest * 3.4) };
}

async function rewrite(
  context: TestContext,
  project: ParquetProject,
  plan: Awaited<ReturnType<ParquetProject["lakeTable"]["planOptimize"]>>,
) {
  for (const group of plan.groups)
    await rewriteOptimizeGroup(context.storage, plan, group, {
      sortBy: project.config.sortBy,
      compression: "zstd",
      rowGroupSize: 10_000,
    });
}

const rowsOf = (seeds: number[]) => seeds.reduce((sum, seed) => sum + ordersBatch(seed).height, 0);

describe("optimize commits", () => {
  it("a plan read before an append commits after it; the appended files stay active", async () => {
    const { context, lake, lakeDir, project, target } = await tableOfAppends(6);
    const plan = await project.lakeTable.planOptimize({ targetFileSize: target });
    expect(plan.readVersion).toBe(5);
    await rewrite(context, project, plan);
    await appendOrdersBatch(context.storage, lake, 7); // lands at version 6, after the plan's read
    const commit = await project.lakeTable.commitOptimize(plan, project.projectId);
    expect(commit).toMatchObject({ version: 7, committed: true, superseded: false, filesRemoved: 30 });
    const table = replayLog(lakeDir);
    expect([...table.files.keys()].filter((path) => path.includes("part-append-7"))).toHaveLength(5);
    expect(checkFiles(lakeDir, table)).toBe(rowsOf([1, 2, 3, 4, 5, 6, 7]));
    // Committing the same plan again (a retry) finds its txn: no second commit.
    expect(await project.lakeTable.commitOptimize(plan, project.projectId)).toMatchObject({
      version: 7,
      committed: false,
    });
    expect(replayLog(lakeDir).version).toBe(7);
  });

  it("a plan whose inputs another rewrite removed is superseded: nothing is committed", async () => {
    const { context, lakeDir, project, target } = await tableOfAppends(6);
    const first = await project.lakeTable.planOptimize({ targetFileSize: target });
    const other = await project.lakeTable.planOptimize({ targetFileSize: target * 2 });
    expect(other.id).not.toBe(first.id);
    await rewrite(context, project, first);
    await rewrite(context, project, other);
    expect(await project.lakeTable.commitOptimize(first, project.projectId)).toMatchObject({
      committed: true,
    });
    expect(await project.lakeTable.commitOptimize(other, "another-project")).toMatchObject({
      committed: false,
      superseded: true,
      version: 6,
    });
    const table = replayLog(lakeDir);
    expect(table.version).toBe(6);
    expect(checkFiles(lakeDir, table)).toBe(rowsOf([1, 2, 3, 4, 5, 6]));
  });

  it("a plan committed by a process that died before recording it is finished, not committed twice", async () => {
    const { context, lakeDir, project, target } = await tableOfAppends(6);
    // What a killed `optimize` leaves: the plan recorded and its task claimed, the commit landed, the task never completed.
    const plan = await project.lakeTable.planOptimize({ targetFileSize: target });
    const taskId = `v${plan.readVersion}-${plan.id.slice(0, 16)}`;
    const planUri = project.locations.optimizePlan(taskId);
    await context.storage.put(planUri, JSON.stringify(plan));
    await context.tracker.createTasks(project.projectId, "optimize", [{ taskId, input: { planUri } }]);
    await rewrite(context, project, plan);
    await project.lakeTable.commitOptimize(plan, project.projectId);
    expect(replayLog(lakeDir).version).toBe(6);

    const summary = await project.optimize();
    expect(summary.plans).toHaveLength(1);
    expect(summary.plans[0]).toMatchObject({ taskId, commit: { version: 6, committed: false } });
    const table = replayLog(lakeDir);
    expect(table.version).toBe(6);
    expect(table.commits.filter((c) => c.some((a) => a.commitInfo?.operation === "OPTIMIZE"))).toHaveLength(
      1,
    );
    expect(checkFiles(lakeDir, table)).toBe(rowsOf([1, 2, 3, 4, 5, 6]));
    expect((await context.tracker.get(project.projectId, "optimize", taskId))?.status).toBe("succeeded");
  });

  it("a hive lake refuses optimize and vacuum, changing nothing", async () => {
    const context = await newContext();
    const project = parquetProject(context, { table: { format: "hive", mode: "append" } });
    await expect(project.optimize()).rejects.toMatchObject({ code: "TABLE_OPERATION_UNSUPPORTED" });
    await expect(project.vacuum({ retainMs: 0, dryRun: true })).rejects.toMatchObject({
      code: "TABLE_OPERATION_UNSUPPORTED",
    });
  });
});
