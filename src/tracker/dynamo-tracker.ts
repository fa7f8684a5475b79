/**
 * `DynamoTracker`: the task tracker on one DynamoDB table (layout in models.ts).
 *
 * Guarantees
 * - Claiming is one conditional UpdateItem: only one worker can move a task to in_progress, and every later
 *   write (heartbeat, complete, fail) is conditional on the lease token it got (fencing). Index reads may be
 *   stale; the conditional write is the strongly consistent re-check.
 * - A crashed worker's task is claimable again once its lease expires. The takeover records a
 *   "LeaseExpiredError" for the lost attempt; when the lost attempt was the last one allowed, the claim
 *   instead marks the task `ignored` (see `claim`).
 * - Every claim records its owner (`<pid>@<host>`). With `reclaimFromGoneLocalOwners` (the embedded tracker,
 *   whose workers all run on one machine) a task whose owner process is gone is claimable at once, fenced
 *   on that owner's lease token; so is one this process claimed by a request whose answer it never got.
 * - Happy path: 2 requests per task (claim, complete), plus one heartbeat per `heartbeatMs` of run time.
 * - No transactions and no TTL are used, so it runs on dynalite as well as DynamoDB (Local).
 * - Throttling is retried by the SDK client's adaptive retry mode (see createDynamoDBClient).
 * - Lease expiry compares the claimer's clock with the holder's: keep worker clocks within a small
 *   fraction of `leaseMs` (NTP does this easily for the 5-minute default). Fencing does not depend on clocks.
 *
 * Item size: a DynamoDB item holds at most 400 KB. Input plus output are limited to `maxDataBytes`
 * (300 000 bytes of JSON by default); error records are truncated and the history is bounded.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BatchGetRequest } from "dynamodb-toolbox/entity/actions/batchGet";
import { DeleteItemCommand } from "dynamodb-toolbox/entity/actions/delete";
import { GetItemCommand } from "dynamodb-toolbox/entity/actions/get";
import type { Condition } from "dynamodb-toolbox/entity/actions/parseCondition";
import { PutItemCommand } from "dynamodb-toolbox/entity/actions/put";
import {
  $add,
  $get,
  $remove,
  $set,
  isConditionCheckFailed,
  UpdateItemCommand,
  type UpdateItemInput,
} from "dynamodb-toolbox/entity/actions/update";
import { BatchGetCommand, execute as executeBatchGet } from "dynamodb-toolbox/table/actions/batchGet";
import { QueryCommand } from "dynamodb-toolbox/table/actions/query";
import pLimit from "p-limit";
import { isRetryable } from "../errors.js";
import { type Logger, silentLogger } from "../logging.js";
import { toErrorRecord } from "./error-records.js";
import { describeTask, InvalidTaskKeyError, LeaseLostError, TaskDataTooLargeError } from "./errors.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { currentLeaseOwner, isGoneLocalOwner } from "./lease-owner.js";
import { createTrackerModels, stepKey, stepStatusKey, type TrackerModels } from "./models.js";
import { createTrackerTable } from "./table.js";
import {
  type BarrierResult,
  barrierOf,
  type Lease,
  type RunTaskResult,
  type StatusCounts,
  TASK_STATUSES,
  type Task,
  type TaskContext,
  type TaskData,
  type TaskErrorRecord,
  type TaskSpec,
  type TaskStatus,
  type TaskTracker,
} from "./types.js";
import { assertStepKey, assertTaskId, nonNegative, positive } from "./validate.js";

export interface DynamoTrackerOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Name of the status index (GSI). Default: `by-status`. */
  indexName?: string;
  /** How long a claim stays valid without a heartbeat. Default: 5 minutes. */
  leaseMs?: number;
  /** How often `runTask` extends the lease. Default: a third of `leaseMs`. */
  heartbeatMs?: number;
  /**
   * Attempts per task (the first run included) before it becomes `ignored`. Default: 3. A failure that
   * retrying can't fix (`isRetryable` is false: bad config, bad data) makes it `ignored` at once.
   */
  maxAttempts?: number;
  /**
   * Backoff before the next attempt after a retryable failure: this, doubled per attempt, with jitter
   * (half to all of it), at most `maxRetryDelayMs`. `runTask` waits it out holding the lease, so no other
   * worker retries sooner. Default: 1000 ms.
   */
  retryDelayMs?: number;
  /** Default: 60 000 ms. */
  maxRetryDelayMs?: number;
  /** Error records kept per task (the most recent ones). Default: 10. */
  maxErrorHistory?: number;
  /** Combined JSON size allowed for a task's input and output. Default: 300 000 bytes. */
  maxDataBytes?: number;
  /** Items per query page (DynamoDB `Limit`); every page is always read. Default: DynamoDB's 1 MB pages. */
  pageSize?: number;
  /** Parallel conditional puts in `createTasks` and updates in `reset`. Default: 16. */
  writeConcurrency?: number;
  /** How long `createTable` waits for ACTIVE. Default: 5 minutes. */
  tableReadyTimeoutMs?: number;
  /** Recorded with each claim. Default: `<pid>@<hostname>` of this process. */
  owner?: string;
  /**
   * Claim tasks held by a process of this machine that is gone without waiting for their lease to expire.
   * Only for tables whose workers all run on one machine (the embedded tracker): elsewhere a pid and host
   * name (containers, Lambda) may not identify one process. Default: false.
   */
  reclaimFromGoneLocalOwners?: boolean;
  logger?: Logger;
}

type TaskEntity = TrackerModels["task"];
type TaskItem = Awaited<ReturnType<typeof readItem>>;
async function readItem(models: TrackerModels, key: { projectId: string; step: string; taskId: string }) {
  const { Item } = await models.task.build(GetItemCommand).key(key).options({ consistent: true }).send();
  return Item;
}

const BATCH_GET_MAX_KEYS = 100;

/**
 * Lease tokens this process sent in a claim and still holds (or may hold: claim in flight). Process-wide,
 * as the owner is: two trackers in one process never take each other's tasks for orphans.
 */
const tokensHeldByThisProcess = new Set<string>();

export class DynamoTracker implements TaskTracker {
  readonly tableName: string;
  readonly indexName: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly maxErrorHistory: number;
  readonly maxDataBytes: number;
  readonly owner: string;
  private readonly reclaimFromGoneLocalOwners: boolean;
  private readonly client: DynamoDBClient;
  private readonly models: TrackerModels;
  private readonly pageSize: number | undefined;
  private readonly writeConcurrency: number;
  private readonly tableReadyTimeoutMs: number;
  private readonly logger: Logger;

  constructor(options: DynamoTrackerOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.indexName = options.indexName ?? "by-status";
    this.leaseMs = positive("leaseMs", options.leaseMs ?? 5 * 60_000);
    this.heartbeatMs = positive("heartbeatMs", options.heartbeatMs ?? Math.floor(this.leaseMs / 3));
    this.maxAttempts = positive("maxAttempts", options.maxAttempts ?? 3);
    this.retryDelayMs = nonNegative("retryDelayMs", options.retryDelayMs ?? 1_000);
    this.maxRetryDelayMs = nonNegative("maxRetryDelayMs", options.maxRetryDelayMs ?? 60_000);
    this.maxErrorHistory = positive("maxErrorHistory", options.maxErrorHistory ?? 10);
    this.maxDataBytes = positive("maxDataBytes", options.maxDataBytes ?? 300_000);
    this.pageSize = options.pageSize === undefined ? undefined : positive("pageSize", options.pageSize);
    this.writeConcurrency = positive("writeConcurrency", options.writeConcurrency ?? 16);
    this.tableReadyTimeoutMs = options.tableReadyTimeoutMs ?? 5 * 60_000;
    this.logger = options.logger ?? silentLogger;
    this.owner = options.owner ?? currentLeaseOwner();
    this.reclaimFromGoneLocalOwners = options.reclaimFromGoneLocalOwners ?? false;
    const documentClient = DynamoDBDocumentClient.from(this.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.models = createTrackerModels({
      documentClient,
      tableName: this.tableName,
      indexName: this.indexName,
    });
  }

  /** On-demand table with the status index; idempotent; resolves once table and index are ACTIVE. */
  async createTable(): Promise<void> {
    await createTrackerTable({
      client: this.client,
      tableName: this.tableName,
      indexName: this.indexName,
      timeoutMs: this.tableReadyTimeoutMs,
      logger: this.logger,
    });
  }

  // ---------------------------------------------------------------- planning

  async createTasks(
    projectId: string,
    step: string,
    specs: readonly TaskSpec[],
    options: { maxAttempts?: number } = {},
  ): Promise<{ created: number; existing: number }> {
    assertStepKey(projectId, step);
    const maxAttempts = positive("maxAttempts", options.maxAttempts ?? this.maxAttempts);
    const seen = new Set<string>();
    for (const spec of specs) {
      assertTaskId(projectId, step, spec.taskId);
      if (seen.has(spec.taskId)) {
        throw new InvalidTaskKeyError(
          `Task id "${spec.taskId}" appears twice in the plan for step "${step}"`,
        );
      }
      seen.add(spec.taskId);
      this.assertDataSize(projectId, step, spec.taskId, "input", spec.input, {});
    }

    // One consistent BatchGet per 100 tasks finds those already planned, so re-planning a big step is cheap;
    // the put below is still conditional, so a concurrent planner can never overwrite a task.
    const existingIds = await this.existingTaskIds(projectId, step, [...seen]);
    const missing = specs.filter((spec) => !existingIds.has(spec.taskId));
    const limit = pLimit(this.writeConcurrency);
    const now = new Date().toISOString();
    const results = await Promise.all(
      missing.map((spec) =>
        limit(async () => {
          const written = await unlessConditionFails(() =>
            this.models.task
              .build(PutItemCommand)
              .item({
                projectId,
                step,
                taskId: spec.taskId,
                ...statusFields(projectId, step, "pending"),
                attempts: 0,
                maxAttempts,
                createdAt: now,
                updatedAt: now,
                input: spec.input,
                output: {},
                errors: [],
              })
              .options({ condition: { attr: "taskId", exists: false } })
              .send(),
          );
          return written !== undefined;
        }),
      ),
    );
    const created = results.filter(Boolean).length;
    this.logger.info({ projectId, step, created, existing: specs.length - created }, "planned tasks");
    return { created, existing: specs.length - created };
  }

  private async existingTaskIds(projectId: string, step: string, taskIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < taskIds.length; i += BATCH_GET_MAX_KEYS) {
      const requests = taskIds
        .slice(i, i + BATCH_GET_MAX_KEYS)
        .map((taskId) => this.models.task.build(BatchGetRequest).key({ projectId, step, taskId }));
      const command = this.models.table
        .build(BatchGetCommand)
        .requests(...requests)
        .options({ consistent: true });
      // `execute` re-sends unprocessed keys (with back-off) up to maxAttempts times.
      const { Responses } = await executeBatchGet({ maxAttempts: 10 }, command);
      for (const item of Responses[0] ?? []) if (item) found.add(item.taskId);
    }
    return found;
  }

  // ---------------------------------------------------------------- reads

  async get(projectId: string, step: string, taskId: string): Promise<Task | undefined> {
    assertStepKey(projectId, step);
    assertTaskId(projectId, step, taskId);
    const item = await readItem(this.models, { projectId, step, taskId });
    return item && toTask(item);
  }

  async list(
    projectId: string,
    step: string,
    options: { statuses?: readonly TaskStatus[] } = {},
  ): Promise<Task[]> {
    assertStepKey(projectId, step);
    if (options.statuses) {
      const perStatus = await Promise.all(
        options.statuses.map((status) => this.queryStatus(projectId, step, status)),
      );
      return perStatus.flat().sort(byTaskId);
    }
    return this.queryStep(projectId, step);
  }

  async todo(projectId: string, step: string): Promise<Task[]> {
    assertStepKey(projectId, step);
    const now = Date.now();
    const [pending, retryable, abandoned] = await Promise.all([
      this.queryStatus(projectId, step, "pending"),
      this.queryStatus(projectId, step, "failed", { attr: "attempts", lt: { attr: "maxAttempts" } }),
      // Includes expired tasks with no attempts left: claiming those marks them ignored.
      this.reclaimFromGoneLocalOwners
        ? this.queryStatus(projectId, step, "in_progress").then((tasks) =>
            tasks.filter((task) => (task.leaseExpiresAt ?? 0) < now || this.holderIsGone(task)),
          )
        : this.queryStatus(projectId, step, "in_progress", { attr: "leaseExpiresAt", lt: now }),
    ]);
    // Abandoned work first: it has waited longest, and a worker may be blocked on it (barrier).
    return [...abandoned, ...retryable, ...pending];
  }

  async counts(projectId: string, step: string): Promise<StatusCounts> {
    assertStepKey(projectId, step);
    const counted = await Promise.all(
      TASK_STATUSES.map(async (status) => {
        const { Count } = await this.models.table
          .build(QueryCommand)
          .entities(this.models.task)
          .query({ index: this.models.statusIndex, partition: stepStatusKey(projectId, step, status) })
          .options({ select: "COUNT", maxPages: Number.POSITIVE_INFINITY, limit: this.pageSize })
          .send();
        return [status, Count ?? 0] as const;
      }),
    );
    return Object.fromEntries(counted) as StatusCounts;
  }

  async failures(projectId: string, step: string): Promise<Task[]> {
    return this.list(projectId, step, { statuses: ["failed", "ignored"] });
  }

  /** Reads the whole step from the base table with strongly consistent reads: no stale index can pass it. */
  async barrier(projectId: string, step: string): Promise<BarrierResult> {
    assertStepKey(projectId, step);
    return barrierOf(await this.queryStep(projectId, step));
  }

  private async queryStep(projectId: string, step: string): Promise<Task[]> {
    const { Items = [] } = await this.models.table
      .build(QueryCommand)
      .entities(this.models.task)
      .query({ partition: stepKey(projectId, step) })
      .options({ consistent: true, maxPages: Number.POSITIVE_INFINITY, limit: this.pageSize })
      .send();
    return Items.map(toTask);
  }

  private async queryStatus(
    projectId: string,
    step: string,
    status: TaskStatus,
    filter?: Condition<TaskEntity>,
  ): Promise<Task[]> {
    const { Items = [] } = await this.models.table
      .build(QueryCommand)
      .entities(this.models.task)
      .query({ index: this.models.statusIndex, partition: stepStatusKey(projectId, step, status) })
      .options({
        maxPages: Number.POSITIVE_INFINITY,
        limit: this.pageSize,
        ...(filter ? { filters: { Task: filter } } : {}),
      })
      .send();
    return Items.map(toTask);
  }

  // ---------------------------------------------------------------- leases

  async claim(projectId: string, step: string, taskId: string): Promise<Lease | undefined> {
    return (await this.tryClaim(projectId, step, taskId)).lease;
  }

  /**
   * `claim`, but when the task is not claimable also says what it is now (no extra read on DynamoDB).
   * `goneHolderToken`: take over the in_progress lease with this token, whose holder is gone.
   */
  private async tryClaim(
    projectId: string,
    step: string,
    taskId: string,
    goneHolderToken?: string,
  ): Promise<{ lease: Lease } | { lease: undefined; current: Task | undefined }> {
    assertStepKey(projectId, step);
    assertTaskId(projectId, step, taskId);
    const now = Date.now();
    const token = randomUUID();
    let claimed: TaskItem;
    // Known before the request goes out: a concurrent claim in this process must not see it as an orphan.
    tokensHeldByThisProcess.add(token);
    try {
      const { Attributes } = await this.models.task
        .build(UpdateItemCommand)
        .item({
          projectId,
          step,
          taskId,
          // Evaluated against the old item: tells us afterwards whether this was a takeover.
          claimedFrom: $get("status"),
          ...statusFields(projectId, step, "in_progress"),
          attempts: $add(1),
          leaseToken: token,
          leaseExpiresAt: now + this.leaseMs,
          leaseOwner: this.owner,
          startedAt: iso(now),
          updatedAt: iso(now),
          finishedAt: $remove(),
        })
        .options({
          returnValues: "ALL_NEW",
          returnValuesOnConditionFalse: "ALL_OLD",
          condition: goneHolderToken
            ? {
                and: [
                  { attr: "status", eq: "in_progress" },
                  { attr: "leaseToken", eq: goneHolderToken },
                  { attr: "attempts", lt: { attr: "maxAttempts" } },
                ],
              }
            : {
                or: [
                  { attr: "status", eq: "pending" },
                  {
                    and: [
                      { attr: "status", eq: "failed" },
                      { attr: "attempts", lt: { attr: "maxAttempts" } },
                    ],
                  },
                  {
                    and: [
                      { attr: "status", eq: "in_progress" },
                      { attr: "leaseExpiresAt", lt: now },
                      { attr: "attempts", lt: { attr: "maxAttempts" } },
                    ],
                  },
                ],
              },
        })
        .send();
      claimed = Attributes;
    } catch (error) {
      // Not claimed, or unknown (no answer): either way not ours to hold, and an orphan if it was written.
      tokensHeldByThisProcess.delete(token);
      if (!isConditionCheckFailed(error, this.models.task)) throw error;
      // DynamoDB returns the item that failed the check; dynalite does not, so read it then.
      const current = error.FormattedItem ?? (await readItem(this.models, { projectId, step, taskId }));
      if (!current) return { lease: undefined, current: undefined };
      const task = toTask(current);
      if (
        !goneHolderToken &&
        current.leaseToken &&
        current.attempts < current.maxAttempts &&
        this.holderIsGone(task)
      )
        return this.tryClaim(projectId, step, taskId, current.leaseToken);
      return { lease: undefined, current: (await this.abandonIfExhausted(current, now)) ?? task };
    }
    if (!claimed)
      throw new Error(`UpdateItem returned no attributes for ${describeTask(projectId, step, taskId)}`);
    let lease = toLease(claimed, token);
    if (claimed.claimedFrom === "in_progress")
      lease = await this.recordTakeover(lease, now, goneHolderToken !== undefined);
    this.logger.debug({ projectId, step, taskId, attempt: lease.attempt }, "claimed task");
    return { lease };
  }

  /** The previous attempt's worker vanished: leave a trace of it in the new attempt's history. */
  private async recordTakeover(lease: Lease, now: number, holderGone: boolean): Promise<Lease> {
    const record = holderGone
      ? holderGoneRecord(lease.attempt - 1, now)
      : leaseExpiredRecord(lease.attempt - 1, now);
    this.logger.info(
      { projectId: lease.projectId, step: lease.step, taskId: lease.taskId, attempt: lease.attempt },
      holderGone ? "took over a task whose holder process is gone" : "took over a task whose lease expired",
    );
    const task = await this.fencedUpdate(lease, "recording the lease takeover", {
      errors: $set(this.boundedHistory(lease.task.errors, record)),
    });
    return { ...lease, task };
  }

  /**
   * An in_progress task whose lease expired (or whose holder is gone) and that has no attempts left: its
   * last worker died. Mark it ignored with a "LeaseExpiredError" record instead of letting it be claimed
   * forever. Conditional on the lease token, so a late heartbeat of a slow-but-alive worker wins the race.
   */
  private async abandonIfExhausted(item: NonNullable<TaskItem>, now: number): Promise<Task | undefined> {
    const { projectId, step, taskId, leaseToken } = item;
    const expired = (item.leaseExpiresAt ?? 0) < now;
    const holderGone = !expired && this.holderIsGone(toTask(item));
    if (item.status !== "in_progress" || !(expired || holderGone)) return undefined;
    if (item.attempts < item.maxAttempts || !leaseToken) return undefined;
    const abandoned = await unlessConditionFails(() =>
      this.models.task
        .build(UpdateItemCommand)
        .item({
          projectId,
          step,
          taskId,
          ...statusFields(projectId, step, "ignored"),
          updatedAt: iso(now),
          finishedAt: iso(now),
          leaseToken: $remove(),
          leaseExpiresAt: $remove(),
          leaseOwner: $remove(),
          errors: $set(
            this.boundedHistory(
              item.errors,
              holderGone ? holderGoneRecord(item.attempts, now) : leaseExpiredRecord(item.attempts, now),
            ),
          ),
        })
        .options({
          returnValues: "ALL_NEW",
          condition: {
            and: [
              { attr: "status", eq: "in_progress" },
              { attr: "leaseToken", eq: leaseToken },
              ...(holderGone ? [] : [{ attr: "leaseExpiresAt", lt: now } as const]),
            ],
          },
        })
        .send(),
    );
    if (!abandoned) return undefined;
    this.logger.warn(
      { projectId, step, taskId, attempts: item.attempts },
      "lease expired on the last attempt: ignored",
    );
    return abandoned.Attributes && toTask(abandoned.Attributes);
  }

  async heartbeat(lease: Lease): Promise<Lease> {
    const expiresAt = Date.now() + this.leaseMs;
    const task = await this.fencedUpdate(lease, "the heartbeat", { leaseExpiresAt: expiresAt });
    return { ...lease, expiresAt, task };
  }

  async complete(lease: Lease, output: TaskData = {}): Promise<Task> {
    this.assertDataSize(lease.projectId, lease.step, lease.taskId, "output", lease.task.input, {
      ...lease.task.output,
      ...output,
    });
    const now = Date.now();
    tokensHeldByThisProcess.delete(lease.token);
    const task = await this.fencedUpdate(lease, "the result", {
      ...statusFields(lease.projectId, lease.step, "succeeded"),
      ...finishFields(now),
      output: mergeOutput(output),
    });
    this.logger.debug(
      { projectId: lease.projectId, step: lease.step, taskId: lease.taskId },
      "task succeeded",
    );
    return task;
  }

  async fail(lease: Lease, error: unknown, output: TaskData = {}): Promise<Task> {
    this.assertDataSize(lease.projectId, lease.step, lease.taskId, "output", lease.task.input, {
      ...lease.task.output,
      ...output,
    });
    const now = Date.now();
    const status: TaskStatus = this.retriesLeft(lease, error) ? "failed" : "ignored";
    tokensHeldByThisProcess.delete(lease.token);
    const task = await this.fencedUpdate(lease, "the failure", {
      ...statusFields(lease.projectId, lease.step, status),
      ...finishFields(now),
      output: mergeOutput(output),
      errors: $set(
        this.boundedHistory(lease.task.errors, toErrorRecord(error, lease.attempt, new Date(now))),
      ),
    });
    this.logger.info(
      { projectId: lease.projectId, step: lease.step, taskId: lease.taskId, attempt: lease.attempt, status },
      "task attempt failed",
    );
    return task;
  }

  /** An update that only applies while `lease` is still the task's current lease; otherwise LeaseLostError. */
  private async fencedUpdate(
    lease: Lease,
    operation: string,
    changes: Omit<UpdateItemInput<TaskEntity>, "projectId" | "step" | "taskId">,
  ): Promise<Task> {
    const { projectId, step, taskId, token } = lease;
    try {
      const { Attributes } = await this.models.task
        .build(UpdateItemCommand)
        .item({ projectId, step, taskId, ...changes })
        .options({
          returnValues: "ALL_NEW",
          condition: {
            and: [
              { attr: "status", eq: "in_progress" },
              { attr: "leaseToken", eq: token },
            ],
          },
        })
        .send();
      if (!Attributes)
        throw new Error(`UpdateItem returned no attributes for ${describeTask(projectId, step, taskId)}`);
      return toTask(Attributes);
    } catch (error) {
      if (!isConditionCheckFailed(error)) throw error;
      const current = await readItem(this.models, { projectId, step, taskId });
      throw new LeaseLostError({
        projectId,
        step,
        taskId,
        operation,
        currentStatus: current?.status,
        currentAttempt: current?.attempts,
      });
    }
  }

  async reset(
    projectId: string,
    step: string,
    options: { statuses?: readonly TaskStatus[] } = {},
  ): Promise<number> {
    assertStepKey(projectId, step);
    // A consistent read of the step, not the status index: a task that just failed (or, for a check that
    // always runs afresh, just succeeded) may not be in the index yet, and would silently stay as it is.
    const wanted = new Set<TaskStatus>(options.statuses ?? ["failed", "ignored"]);
    const tasks = (await this.queryStep(projectId, step)).filter((task) => wanted.has(task.status));
    const limit = pLimit(this.writeConcurrency);
    const now = iso(Date.now());
    const done = await Promise.all(
      tasks.map((task) =>
        limit(async () => {
          const written = await unlessConditionFails(() =>
            this.models.task
              .build(UpdateItemCommand)
              .item({
                projectId,
                step,
                taskId: task.taskId,
                ...statusFields(projectId, step, "pending"),
                attempts: 0,
                updatedAt: now,
                leaseToken: $remove(),
                leaseExpiresAt: $remove(),
                leaseOwner: $remove(),
              })
              // Another process may have moved the task since: only reset what is still as we saw it.
              .options({ condition: { attr: "status", eq: task.status } })
              .send(),
          );
          return written !== undefined;
        }),
      ),
    );
    const count = done.filter(Boolean).length;
    this.logger.info({ projectId, step, count }, "reset tasks to pending");
    return count;
  }

  async deleteTasks(projectId: string, step: string, taskIds?: readonly string[]): Promise<number> {
    assertStepKey(projectId, step);
    const ids = taskIds ?? (await this.queryStep(projectId, step)).map((task) => task.taskId);
    const limit = pLimit(this.writeConcurrency);
    const deleted = await Promise.all(
      ids.map((taskId) =>
        limit(async () => {
          const { Attributes } = await this.models.task
            .build(DeleteItemCommand)
            .key({ projectId, step, taskId })
            .options({ returnValues: "ALL_OLD" })
            .send();
          return Attributes !== undefined;
        }),
      ),
    );
    const count = deleted.filter(Boolean).length;
    this.logger.info({ projectId, step, count }, "deleted tasks");
    return count;
  }

  // ---------------------------------------------------------------- running

  async runTask<O extends TaskData>(
    projectId: string,
    step: string,
    taskId: string,
    fn: (context: TaskContext) => Promise<O>,
  ): Promise<RunTaskResult<O>> {
    const claimed = await this.tryClaim(projectId, step, taskId);
    if (!claimed.lease) return { outcome: "not_claimable", task: claimed.current };
    const { lease } = claimed;

    const controller = new AbortController();
    const keeper = new LeaseKeeper(this, lease, this.heartbeatMs, controller, this.logger);
    let outcome: { ok: true; output: O } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, output: await fn({ lease, input: lease.task.input, signal: controller.signal }) };
    } catch (error) {
      outcome = { ok: false, error };
      await this.backOff(lease, error, controller.signal);
    }
    const current = await keeper.stop();
    // Whatever happens next, this attempt's lease is over for this process.
    tokensHeldByThisProcess.delete(lease.token);
    const lost = async (error: LeaseLostError): Promise<RunTaskResult<O>> => ({
      outcome: "lease_lost",
      task: await this.get(projectId, step, taskId),
      error,
    });
    if (controller.signal.aborted) return lost(controller.signal.reason as LeaseLostError);

    if (outcome.ok) {
      try {
        const task = await this.complete(current, outcome.output ?? {});
        return { outcome: "succeeded", task: task as Task<TaskData, O> };
      } catch (error) {
        if (error instanceof LeaseLostError) return lost(error);
        // The result could not be stored (too large, invalid): that is this attempt's failure.
        outcome = { ok: false, error };
      }
    }
    try {
      const task = await this.fail(current, outcome.error);
      return { outcome: "failed", task, error: outcome.error };
    } catch (error) {
      if (error instanceof LeaseLostError) return lost(error);
      throw error;
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * With `reclaimFromGoneLocalOwners`: the task's holder is a process of this machine that is gone, or this
   * process itself holding a token it never received (a claim whose answer was lost).
   */
  private holderIsGone(task: Task): boolean {
    if (!this.reclaimFromGoneLocalOwners || task.status !== "in_progress" || !task.leaseToken) return false;
    if (task.leaseOwner === this.owner) return !tokensHeldByThisProcess.has(task.leaseToken);
    return isGoneLocalOwner(task.leaseOwner);
  }

  /** Whether a failure with `error` on this attempt leaves the task to be tried again. */
  private retriesLeft(lease: Lease, error: unknown): boolean {
    return lease.attempt < lease.task.maxAttempts && isRetryable(error);
  }

  /**
   * Waits before a retryable failure is recorded, still holding (and renewing) the lease: the next attempt,
   * by any worker, starts after the backoff. Cut short when the lease is lost.
   */
  private async backOff(lease: Lease, error: unknown, signal: AbortSignal): Promise<void> {
    if (!this.retriesLeft(lease, error)) return;
    const full = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** (lease.attempt - 1));
    const delayMs = Math.round(full / 2 + (Math.random() * full) / 2);
    if (delayMs === 0) return;
    const { projectId, step, taskId, attempt } = lease;
    this.logger.info(
      { projectId, step, taskId, attempt, delayMs },
      "retryable failure; waiting before the next attempt",
    );
    await sleep(delayMs, undefined, { signal }).catch(() => undefined);
  }

  private boundedHistory(history: readonly TaskErrorRecord[], record: TaskErrorRecord): TaskErrorRecord[] {
    return [...history, record].slice(-this.maxErrorHistory);
  }

  private assertDataSize(
    projectId: string,
    step: string,
    taskId: string,
    what: "input" | "output",
    input: TaskData,
    output: TaskData,
  ): void {
    const bytes = jsonBytes(input) + jsonBytes(output);
    if (bytes > this.maxDataBytes) {
      throw new TaskDataTooLargeError({
        projectId,
        step,
        taskId,
        what: what === "input" ? "input" : "input plus output",
        bytes,
        limit: this.maxDataBytes,
      });
    }
  }
}

// ------------------------------------------------------------------ pure helpers

function statusFields(projectId: string, step: string, status: TaskStatus) {
  return { status, stepStatus: stepStatusKey(projectId, step, status) };
}

function finishFields(now: number) {
  return {
    updatedAt: iso(now),
    finishedAt: iso(now),
    leaseToken: $remove(),
    leaseExpiresAt: $remove(),
    leaseOwner: $remove(),
  };
}

/** `SET output.k = v` per key: merges into the stored output instead of replacing it. */
function mergeOutput(output: TaskData) {
  return Object.fromEntries(Object.entries(output).map(([key, value]) => [key, $set(value)]));
}

function leaseExpiredRecord(attempt: number, now: number): TaskErrorRecord {
  return {
    attempt,
    at: iso(now),
    name: "LeaseExpiredError",
    message: "The worker stopped renewing its lease before finishing (crashed, killed or stalled).",
    code: "TASK_LEASE_EXPIRED",
  };
}

function holderGoneRecord(attempt: number, now: number): TaskErrorRecord {
  return {
    attempt,
    at: iso(now),
    name: "LeaseHolderGoneError",
    message:
      "The worker process holding the lease is gone (crashed or killed); taken over before the lease expired.",
    code: "TASK_LEASE_HOLDER_GONE",
  };
}

function toTask(item: NonNullable<TaskItem>): Task {
  return {
    projectId: item.projectId,
    step: item.step,
    taskId: item.taskId,
    status: item.status,
    attempts: item.attempts,
    maxAttempts: item.maxAttempts,
    ...(item.leaseToken !== undefined ? { leaseToken: item.leaseToken } : {}),
    ...(item.leaseExpiresAt !== undefined ? { leaseExpiresAt: item.leaseExpiresAt } : {}),
    ...(item.leaseOwner !== undefined ? { leaseOwner: item.leaseOwner } : {}),
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    ...(item.startedAt !== undefined ? { startedAt: item.startedAt } : {}),
    ...(item.finishedAt !== undefined ? { finishedAt: item.finishedAt } : {}),
    input: item.input,
    output: item.output,
    errors: item.errors,
  };
}

function toLease(item: NonNullable<TaskItem>, token: string): Lease {
  return {
    projectId: item.projectId,
    step: item.step,
    taskId: item.taskId,
    token,
    expiresAt: item.leaseExpiresAt ?? 0,
    attempt: item.attempts,
    task: toTask(item),
  };
}

function byTaskId(a: Task, b: Task): number {
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "");
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Sends a conditional write whose failed condition means "another process changed the item first: leave
 * it as it is"; resolves to undefined then. Any other error propagates.
 */
async function unlessConditionFails<T>(write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write();
  } catch (error) {
    if (isConditionCheckFailed(error)) return undefined;
    throw error;
  }
}
