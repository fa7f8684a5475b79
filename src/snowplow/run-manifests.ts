/**
 * Snowplow run manifests: a DynamoDB table with hash key `RunId` (S) listing the runs already processed.
 * Wire-compatible with the Python and Scala analytics SDKs (`snowplow_analytics_sdk/run_manifests.py` in
 * github.com/snowplow/snowplow-python-analytics-sdk; `RunManifests.scala` in
 * github.com/snowplow/snowplow-scala-analytics-sdk before 2.0.0): they write and read a plain `{RunId}`
 * item, and so does `add`/`contains` here.
 *
 * Beyond the SDKs, `claim`/`complete`/`fail` add a lease so two jobs never process one run at once and a
 * crashed job's run becomes claimable again once its lease expires. Their state lives in extra attributes
 * (`RunState`, `LeaseToken`, `LeaseExpiresAt`, `Attempts`, `LastError`, ...; "State" is a reserved word), all
 * written with conditional writes only (no transactions: dynalite lacks them).
 *
 * Compatibility caveat: the SDKs only test whether an item exists, so they see a run that is claimed or
 * failed here as processed. Mixing SDK workers and claimers on one table therefore never double-processes a
 * run, but an SDK worker skips runs a claimer failed.
 */
import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createTableAndWait } from "../clients/dynamodb-table.js";
import { SnaplakeError } from "../errors.js";

export const RUN_ID_ATTRIBUTE = "RunId";

/** How a table is billed when `create` makes it. */
export type TableBilling =
  | { mode: "on-demand" }
  | { mode: "provisioned"; readCapacityUnits: number; writeCapacityUnits: number };

export interface CreateManifestTableOptions {
  /** On-demand (PAY_PER_REQUEST) by default; the SDKs used provisioned 5/5. */
  billing?: TableBilling;
  /** How long to wait for the table to become ACTIVE. Default 300 s. */
  maxWaitSeconds?: number;
}

/** `completed` also covers plain `{RunId}` items written by `add` or the SDKs. */
export type RunState = "processing" | "completed" | "failed";

export interface RunStatus {
  runId: string;
  state: RunState;
  attempts: number;
  /** Epoch milliseconds; only while `processing`. */
  leaseExpiresAt?: number;
  lastError?: string;
}

/** Proof of a claim. `complete` and `fail` only succeed while the item still carries `token`. */
export interface RunLease {
  runId: string;
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** 1 for the first claim of the run. */
  attempt: number;
}

export interface ClaimOptions {
  /** How long the claim holds without a `renew`. After that another job may claim the run. */
  leaseMs: number;
}

/** The run was claimed again by someone else (the lease expired) or marked done by `add`. */
export class RunLeaseLostError extends SnaplakeError {
  readonly runId: string;
  constructor(runId: string, tableName: string) {
    super(
      "RUN_LEASE_LOST",
      `Lost the lease on run "${runId}" in run manifest table "${tableName}": it expired and was claimed again, ` +
        "or the run was added as processed. Use a longer lease or renew it while working.",
    );
    this.runId = runId;
  }
}

const MAX_ERROR_LENGTH = 2000;

/** Billing parameters of CreateTable for a billing choice. */
export function billingParameters(
  billing: TableBilling = { mode: "on-demand" },
): Pick<CreateTableCommandInput, "BillingMode" | "ProvisionedThroughput"> {
  if (billing.mode === "on-demand") return { BillingMode: "PAY_PER_REQUEST" };
  return {
    BillingMode: "PROVISIONED",
    ProvisionedThroughput: {
      ReadCapacityUnits: billing.readCapacityUnits,
      WriteCapacityUnits: billing.writeCapacityUnits,
    },
  };
}

/** How long `create` waits for a manifest table, from its options (internal). */
export function manifestTableWait(options: CreateManifestTableOptions): { timeoutMs?: number } {
  return options.maxWaitSeconds === undefined ? {} : { timeoutMs: options.maxWaitSeconds * 1000 };
}

export class RunManifests {
  private readonly now: () => number;

  constructor(
    readonly client: DynamoDBClient,
    readonly tableName: string,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates the table (hash key `RunId`, S) unless it exists; waits until it is ACTIVE in both cases. */
  async create(options: CreateManifestTableOptions = {}): Promise<void> {
    await createTableAndWait(
      this.client,
      {
        TableName: this.tableName,
        AttributeDefinitions: [{ AttributeName: RUN_ID_ATTRIBUTE, AttributeType: "S" }],
        KeySchema: [{ AttributeName: RUN_ID_ATTRIBUTE, KeyType: "HASH" }],
        ...billingParameters(options.billing),
      },
      manifestTableWait(options),
    );
  }

  /** Marks a run processed, exactly as the SDKs do: an unconditional put of `{RunId}` (replaces any claim). */
  async add(runId: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { [RUN_ID_ATTRIBUTE]: { S: runId } } }),
    );
  }

  /** True for completed runs and plain `{RunId}` items; false for absent, claimed or failed runs. Strongly consistent. */
  async contains(runId: string): Promise<boolean> {
    return (await this.status(runId))?.state === "completed";
  }

  /** The run's state, or null when the table has no item for it. Strongly consistent. */
  async status(runId: string): Promise<RunStatus | null> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(runId), ConsistentRead: true }),
    );
    if (!Item) return null;
    const state = (Item.RunState?.S as RunState | undefined) ?? "completed";
    return {
      runId,
      state,
      attempts: Item.Attempts?.N ? Number(Item.Attempts.N) : 0,
      ...(state === "processing" && Item.LeaseExpiresAt?.N
        ? { leaseExpiresAt: Number(Item.LeaseExpiresAt.N) }
        : {}),
      ...(Item.LastError?.S ? { lastError: Item.LastError.S } : {}),
    };
  }

  /**
   * Claims a run for `leaseMs`. Returns null when the run is completed (or a plain `{RunId}` item) or is held
   * by an unexpired lease; claims absent runs, failed runs and runs whose lease has expired.
   * Expiry is judged with this machine's clock against the claimer's: keep leases well above clock skew.
   */
  async claim(runId: string, options: ClaimOptions): Promise<RunLease | null> {
    const now = this.now();
    const token = randomUUID();
    const expiresAt = now + options.leaseMs;
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(runId),
          UpdateExpression:
            "SET RunState = :processing, LeaseToken = :token, LeaseExpiresAt = :expires, ClaimedAt = :at, " +
            "Attempts = if_not_exists(Attempts, :zero) + :one",
          ConditionExpression:
            "attribute_not_exists(RunId) OR RunState = :failed OR (RunState = :processing AND LeaseExpiresAt < :now)",
          ExpressionAttributeValues: {
            ":processing": { S: "processing" },
            ":failed": { S: "failed" },
            ":token": { S: token },
            ":expires": { N: String(expiresAt) },
            ":now": { N: String(now) },
            ":at": { S: new Date(now).toISOString() },
            ":zero": { N: "0" },
            ":one": { N: "1" },
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { runId, token, expiresAt, attempt: Number(Attributes?.Attempts?.N ?? 1) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  /** Extends a held lease; throws RunLeaseLostError if the run was claimed again or added meanwhile. */
  async renew(runId: string, lease: RunLease, options: ClaimOptions): Promise<RunLease> {
    const expiresAt = this.now() + options.leaseMs;
    await this.updateHeld(runId, lease, "SET LeaseExpiresAt = :expires", {
      ":expires": { N: String(expiresAt) },
    });
    return { ...lease, expiresAt };
  }

  /** Marks a claimed run completed (so `contains` is true). Works after expiry as long as nobody re-claimed it. */
  async complete(runId: string, lease: RunLease): Promise<void> {
    await this.updateHeld(
      runId,
      lease,
      "SET RunState = :completed, CompletedAt = :at REMOVE LeaseToken, LeaseExpiresAt, LastError",
      { ":completed": { S: "completed" }, ":at": { S: new Date(this.now()).toISOString() } },
    );
  }

  /** Marks a claimed run failed with the error's message; a failed run can be claimed again at once. */
  async fail(runId: string, lease: RunLease, error: unknown): Promise<void> {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await this.updateHeld(
      runId,
      lease,
      "SET RunState = :failed, LastError = :error, FailedAt = :at REMOVE LeaseToken, LeaseExpiresAt",
      {
        ":failed": { S: "failed" },
        ":error": { S: message.slice(0, MAX_ERROR_LENGTH) || "unknown error" },
        ":at": { S: new Date(this.now()).toISOString() },
      },
    );
  }

  private async updateHeld(
    runId: string,
    lease: RunLease,
    updateExpression: string,
    values: Record<string, AttributeValue>,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(runId),
          UpdateExpression: updateExpression,
          ConditionExpression: "RunState = :processing AND LeaseToken = :token",
          ExpressionAttributeValues: {
            ...values,
            ":processing": { S: "processing" },
            ":token": { S: lease.token },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new RunLeaseLostError(runId, this.tableName);
      throw error;
    }
  }

  private key(runId: string): Record<string, AttributeValue> {
    return { [RUN_ID_ATTRIBUTE]: { S: runId } };
  }
}
