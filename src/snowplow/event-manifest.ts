/**
 * Snowplow's event manifest: the DynamoDB table behind cross-batch deduplication. Same names and types as
 * the RDB Shredder, the Event Manifest Populator and snowplow-events-manifest (`DynamoDbManifest.scala` in
 * github.com/snowplow-incubator/snowplow-events-manifest), so one table serves them all:
 *   eventId (S, hash) + fingerprint (S, range), etlTime (N, epoch seconds), ttl (N, etlTime + 180 days).
 * An event is unique when this put succeeds:
 *   (attribute_not_exists(eventId) AND attribute_not_exists(fingerprint)) OR etlTime = :etlTime
 * so a re-run of the same batch (same etlTime) never flags its own events.
 */
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  PutItemCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import pLimit from "p-limit";
import pRetry from "p-retry";
import { createTableAndWait } from "../clients/dynamodb-table.js";
import { type Logger, silentLogger } from "../logging.js";
import { billingParameters, type CreateManifestTableOptions, manifestTableWait } from "./run-manifests.js";

/** 180 days, as in every Snowplow implementation. */
export const DEFAULT_EVENT_MANIFEST_TTL_SECONDS = 15_552_000;
export const DEFAULT_EVENT_MANIFEST_CONCURRENCY = 32;

const CONDITION =
  "(attribute_not_exists(eventId) AND attribute_not_exists(fingerprint)) OR etlTime = :etlTime";
const THROTTLING_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
]);
/** Extra attempts on throttling after the SDK's own adaptive retries gave up (backfills hit this: D). */
const THROTTLING_RETRIES = 6;

/** `unique`: first sighting, or a re-run of the same batch. `duplicate`: already seen with another etlTime. */
export type PutOutcome = "unique" | "duplicate";

/** `put`'s outcome in more detail: whether the item was new or already there with the same etlTime. */
export type RecordOutcome = "new" | "same-etl-time" | "duplicate";

export interface ManifestEvent {
  eventId: string;
  fingerprint: string;
  /** Epoch seconds (fractions are dropped) or a Date. */
  etlTime: number | Date;
}

export interface EventManifestOptions {
  ttlSeconds?: number;
  logger?: Logger;
}

export interface CreateEventManifestOptions extends CreateManifestTableOptions {
  /** Switch DynamoDB TTL on for the `ttl` attribute (default true). */
  enableTtl?: boolean;
}

/** A key for an event in sets and maps: `eventId` and `fingerprint` joined by a tab (neither may contain one). */
export function eventKey(eventId: string, fingerprint: string): string {
  return `${eventId}\t${fingerprint}`;
}

/** Epoch seconds as DynamoDB stores them (whole seconds, like the Scala `(millis / 1000).toInt`). */
export function toEpochSeconds(etlTime: number | Date): number {
  const seconds = etlTime instanceof Date ? etlTime.getTime() / 1000 : etlTime;
  if (!Number.isFinite(seconds))
    throw new RangeError(`etlTime must be a finite time, got ${String(etlTime)}`);
  return Math.floor(seconds);
}

function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING_ERRORS.has(error.name);
}

export class EventManifest {
  readonly ttlSeconds: number;
  private readonly logger: Logger;

  constructor(
    readonly client: DynamoDBClient,
    readonly tableName: string,
    options: EventManifestOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_EVENT_MANIFEST_TTL_SECONDS;
    this.logger = options.logger ?? silentLogger;
  }

  /** True when the table exists (in any status). */
  async exists(): Promise<boolean> {
    try {
      await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    }
  }

  /**
   * Creates the table unless it exists, waits until ACTIVE, then switches TTL on for `ttl`. Servers without
   * UpdateTimeToLive (dynalite) get a logged warning; `ttlEnabled` then reports false.
   */
  async create(options: CreateEventManifestOptions = {}): Promise<{ created: boolean; ttlEnabled: boolean }> {
    const { outcome } = await createTableAndWait(
      this.client,
      {
        TableName: this.tableName,
        AttributeDefinitions: [
          { AttributeName: "eventId", AttributeType: "S" },
          { AttributeName: "fingerprint", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "eventId", KeyType: "HASH" },
          { AttributeName: "fingerprint", KeyType: "RANGE" },
        ],
        ...billingParameters(options.billing),
      },
      manifestTableWait(options),
    );
    const ttlEnabled = options.enableTtl === false ? false : await this.enableTtl();
    return { created: outcome === "created", ttlEnabled };
  }

  /** Switches TTL on for `ttl` unless already on. False when the server has no TTL support. */
  async enableTtl(): Promise<boolean> {
    try {
      const { TimeToLiveDescription } = await this.client.send(
        new DescribeTimeToLiveCommand({ TableName: this.tableName }),
      );
      const status = TimeToLiveDescription?.TimeToLiveStatus;
      if ((status === "ENABLED" || status === "ENABLING") && TimeToLiveDescription?.AttributeName === "ttl") {
        return true;
      }
      await this.client.send(
        new UpdateTimeToLiveCommand({
          TableName: this.tableName,
          TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "UnknownOperationException") {
        this.logger.warn(
          { table: this.tableName },
          "this DynamoDB server does not support TTL (UpdateTimeToLive); event manifest items will not expire",
        );
        return false;
      }
      throw error;
    }
  }

  /** Snowplow's conditional put: "unique" or "duplicate". */
  async put(eventId: string, fingerprint: string, etlTime: number | Date): Promise<PutOutcome> {
    return (await this.record(eventId, fingerprint, etlTime)) === "duplicate" ? "duplicate" : "unique";
  }

  /** Like `put`, telling a brand-new item from one already stored with the same etlTime. */
  async record(eventId: string, fingerprint: string, etlTime: number | Date): Promise<RecordOutcome> {
    const seconds = toEpochSeconds(etlTime);
    const send = () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            eventId: { S: eventId },
            fingerprint: { S: fingerprint },
            etlTime: { N: String(seconds) },
            ttl: { N: String(seconds + this.ttlSeconds) },
          },
          ConditionExpression: CONDITION,
          ExpressionAttributeValues: { ":etlTime": { N: String(seconds) } },
          ReturnValues: "ALL_OLD",
        }),
      );
    try {
      const { Attributes } = await pRetry(send, {
        retries: THROTTLING_RETRIES,
        minTimeout: 200,
        maxTimeout: 10_000,
        randomize: true,
        shouldRetry: ({ error }) => isThrottling(error),
      });
      return Attributes ? "same-etl-time" : "new";
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return "duplicate";
      throw error;
    }
  }

  /** `put` for many events with at most `concurrency` requests in flight; results in input order. */
  async putMany(
    events: readonly ManifestEvent[],
    options: { concurrency?: number } = {},
  ): Promise<PutOutcome[]> {
    const limit = pLimit(options.concurrency ?? DEFAULT_EVENT_MANIFEST_CONCURRENCY);
    return Promise.all(events.map((e) => limit(() => this.put(e.eventId, e.fingerprint, e.etlTime))));
  }

  /**
   * Cross-batch deduplication for one batch: records every (eventId, fingerprint) with the batch's etlTime
   * (Snowplow uses the minimum etl_tstamp of the batch) and returns the keys (`eventKey`) already seen in an
   * earlier batch. Each key is written once; events without a fingerprint are never duplicates and are not
   * written (Snowplow gives them a random fingerprint, which can never match).
   */
  async checkBatch(
    events: Iterable<{ eventId: string; fingerprint: string | null | undefined }>,
    etlTime: number | Date,
    options: { concurrency?: number } = {},
  ): Promise<Set<string>> {
    const keys = new Map<string, { eventId: string; fingerprint: string }>();
    for (const { eventId, fingerprint } of events) {
      if (fingerprint) keys.set(eventKey(eventId, fingerprint), { eventId, fingerprint });
    }
    const unique = [...keys.values()];
    const outcomes = await this.putMany(
      unique.map((e) => ({ ...e, etlTime })),
      options,
    );
    const duplicates = new Set<string>();
    outcomes.forEach((outcome, i) => {
      const event = unique[i];
      if (outcome === "duplicate" && event) duplicates.add(eventKey(event.eventId, event.fingerprint));
    });
    return duplicates;
  }
}
