import pl from "nodejs-polars";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ProgressEvent } from "../src/project.js";
import { writeOrdersSnapshot } from "../src/samples/orders.js";
import { SINGLE_TASK_ID, Step } from "../src/steps/catalogue.js";
import { StageBarrierError } from "../src/steps/step-2-1-plan-staging-to-datalake.js";
import { ValidationFailedError } from "../src/steps/step-3-validate-datalake.js";
import { DynamoTracker } from "../src/tracker/dynamo-tracker.js";
import { testDynamoClient } from "./support/clients.js";
import {
  createTestContext,
  OrdersProject,
  ordersConfig,
  readLake,
  type StorageKind,
} from "./support/orders-project.js";

const kinds: StorageKind[] = ["local", "s3"];

describe.each(kinds)("orders snapshot to lake on %s storage", (kind) => {
  it("builds a lake whose rows equal the source, partitioned, right-sized and sorted; re-running changes nothing", async () => {
    const context = await createTestContext(kind);
    const snapshot = await writeOrdersSnapshot(context.storage, `${context.root}snapshot/`, {
      rows: 120_000,
      files: 8,
    });
    const config = ordersConfig(context);
    const project = new OrdersProject(config, context);

    const summary = await project.runAll({ workers: 2 });
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.lake.rows).toBe(snapshot.rows);
    expect(summary.snapshotGroups.succeeded).toBeGreaterThan(1);

    const lake = await readLake(context.storage, `${context.root}lake/`);
    const partitions = new Set(lake.map((f) => f.partition));
    expect(partitions.size).toBe(24); // 2021-01 .. 2022-12
    expect([...partitions].sort()[0]).toBe("year=2021/month=01");
    const all = pl.concat(lake.map((f) => f.frame));
    expect(all.height).toBe(snapshot.rows);
    expect(all.getColumn("order_id").nUnique()).toBe(snapshot.rows);
    // Partition columns live in the path, not in the files (Hive layout).
    expect(all.columns).not.toContain("year");

    const target = 40_000;
    for (const file of lake) {
      // Files are split evenly from a measured sample: none is over the target by more than 10%.
      expect(file.size).toBeLessThanOrEqual(target * 1.1);
      const times = file.frame.getColumn("order_time").cast(pl.Int64).toArray() as unknown as bigint[];
      // One assertion per file (not per row: 120,000 expect() calls took ~1.6 s).
      const firstOutOfOrder = times.findIndex((time, i) => i > 0 && time < times[i - 1]!);
      expect(firstOutOfOrder, `${file.uri} is sorted by order_time`).toBe(-1);
    }
    expect(lake.length).toBeGreaterThan(24); // several files in the bigger partitions

    // Re-running everything, or any single step, writes the same keys with the same bytes.
    const before = lake.map((f) => `${f.uri} ${f.etag}`).sort();
    await project.runAll({ workers: 2 });
    await project.step1_1PlanSnapshotToStaging();
    const compactions = await project.tracker.list(project.projectId, Step.stagingToDatalake);
    await project.tracker.reset(project.projectId, Step.stagingToDatalake, { statuses: ["succeeded"] });
    // Files an earlier attempt left beyond this one's output (it had made more files) are removed.
    const first = compactions[0]!;
    const { partition, fingerprint } = first.input as { partition: string; fingerprint: string };
    const written = (first.output as { lakeFiles: unknown[] }).lakeFiles.length;
    const leftovers = [written, written + 1].map((i) =>
      project.locations.lakeFile(partition, fingerprint, i),
    );
    for (const uri of leftovers) await context.storage.put(uri, "left by an earlier attempt");
    for (const task of compactions)
      expect((await project.step2_3CompactPartitionGroup(task.taskId)).outcome).toBe("succeeded");
    for (const uri of leftovers) expect(await context.storage.exists(uri), uri).toBe(false);
    const after = (await readLake(context.storage, `${context.root}lake/`))
      .map((f) => `${f.uri} ${f.etag}`)
      .sort();
    expect(after).toEqual(before);
    expect((await project.step3ValidateDatalake()).ok).toBe(true);
  }, 240_000);
});

describe("workflow failures and de-duplication (local storage)", () => {
  it("a corrupt input file fails only its group, names the file, and validation reports the gap", async () => {
    const context = await createTestContext("local", { maxAttempts: 2 });
    const snapshot = await writeOrdersSnapshot(context.storage, `${context.root}snapshot/`, {
      rows: 40_000,
      files: 8,
    });
    const corrupt = snapshot.uris[3]!;
    await context.storage.put(corrupt, Buffer.from("PAR1 this is not parquet at all PAR1"));
    const project = new OrdersProject(
      ordersConfig(context, { targetFileGroupSize: 60_000, tracker: { maxAttempts: 2 } }),
      context,
    );

    await expect(project.runAll({ workers: 2 })).rejects.toBeInstanceOf(StageBarrierError);
    // Refused before the planning task was created or claimed: none of its attempts is used up.
    expect(await project.tracker.get(project.projectId, Step.planStagingToDatalake, SINGLE_TASK_ID)).toBe(
      undefined,
    );
    const failures = await project.failures();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.status).toBe("ignored");
    expect(failures[0]!.errors).toHaveLength(2);
    expect(failures[0]!.errors[0]!.message).toContain(corrupt);
    const counts = await project.tracker.counts(project.projectId, Step.snapshotToStaging);
    expect(counts.succeeded).toBeGreaterThan(0);

    // Forcing the next stage builds a partial lake; validation names the gap and fails.
    await project.step2_1PlanStagingToDatalake({ force: true });
    for (const task of await project.step2_2ListPartitionGroupsTodo())
      await project.step2_3CompactPartitionGroup(task.taskId);
    const error = await project.step3ValidateDatalake().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    const result = (error as ValidationFailedError).result;
    expect(result.ok).toBe(false);
    expect(result.gaps).toHaveLength(1);
    expect(result.gaps[0]!.files).toContain(corrupt);
    expect((error as Error).message).toContain(failures[0]!.taskId);
  }, 120_000);

  it("says which task it waits for, who holds it and for how long, then takes it over when the lease expires", async () => {
    const context = await createTestContext("local", { leaseMs: 2_000 });
    await writeOrdersSnapshot(context.storage, `${context.root}snapshot/`, { rows: 5_000, files: 2 });
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const project = new OrdersProject(ordersConfig(context), { ...context, logger });
    await project.step1_1PlanSnapshotToStaging();
    const [task] = await project.step1_2ListSnapshotGroupsTodo();
    // Another machine's worker claims the group and goes silent.
    const holder = "4242@another-machine";
    const other = new DynamoTracker({
      client: testDynamoClient(context.dynamoEndpoint),
      tableName: context.tableName,
      leaseMs: 2_000,
      owner: holder,
    });
    expect(await other.claim(project.projectId, Step.snapshotToStaging, task!.taskId)).toBeDefined();

    await project.drain(Step.snapshotToStaging, { workers: 1 });
    const waits = lines.map((line) => JSON.parse(line)).filter((log) => log.msg.startsWith("waiting for"));
    expect(waits).toHaveLength(1); // once per lease, not once per poll
    expect(waits[0]).toMatchObject({ level: 40, step: Step.snapshotToStaging, taskId: task!.taskId, holder });
    expect(waits[0].leaseExpiresInSeconds).toBeGreaterThan(0);
    expect(waits[0].leaseExpiresInSeconds).toBeLessThanOrEqual(2);
    expect(waits[0].msg).toContain(
      `task ${task!.taskId} of step ${Step.snapshotToStaging}, held by ${holder}`,
    );
    const done = await project.tracker.get(project.projectId, Step.snapshotToStaging, task!.taskId);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
  });

  it("keeps only the latest row per record id and validation accounts for the removed ones", async () => {
    const context = await createTestContext("local");
    const snapshot = await writeOrdersSnapshot(context.storage, `${context.root}snapshot/`, {
      rows: 30_000,
      files: 5,
      duplicateShare: 0.2,
    });
    const project = new OrdersProject(
      ordersConfig(context, { recordIdColumn: "order_id", updateTimeColumn: "updated_at" }),
      context,
    );
    const progress: ProgressEvent[] = [];
    const summary = await project.runAll({ onProgress: (event) => progress.push(event) });
    expect(summary.validation.ok).toBe(true);
    expect(summary.validation.lake.rows).toBe(snapshot.distinctOrders);
    // One progress event per task, ending with every task of each step finished.
    for (const step of [Step.snapshotToStaging, Step.stagingToDatalake]) {
      const events = progress.filter((e) => e.step === step);
      expect(events.length).toBe(events[0]!.total);
      expect(events.at(-1)!.finished).toBe(events[0]!.total);
    }
    expect(summary.validation.lake.duplicatesRemoved).toBe(snapshot.rows - snapshot.distinctOrders);

    // Every kept row is the one with the latest update time of its order.
    const source = pl.concat(
      await Promise.all(snapshot.uris.map(async (u) => pl.readParquet(await context.storage.get(u)))),
    );
    const latest = source.groupBy("order_id").agg(pl.col("updated_at").max().alias("latest"));
    const lake = pl.concat((await readLake(context.storage, `${context.root}lake/`)).map((f) => f.frame));
    const joined = lake.join(latest, { on: "order_id" });
    expect(joined.height).toBe(snapshot.distinctOrders);
    expect(joined.filter(pl.col("updated_at").neq(pl.col("latest"))).height).toBe(0);
  }, 120_000);
});
