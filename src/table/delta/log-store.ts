/**
 * How a commit file comes to exist exactly once. The protocol's one hard rule for writers: never overwrite
 * a log entry. Two ways here:
 * - `ConditionalPutLogStore`: the storage's create-only write (`Storage.putIfAbsent`). On local folders a
 *   temp file is `link()`ed to the version's name, which fails when it exists. On AWS S3 it is a PutObject
 *   with `If-None-Match: *`. The S3 test server (s3rver) does not enforce that header, so only AWS S3 (or
 *   a server that implements conditional writes) gives the guarantee there.
 * - `DynamoDbLogStore`: the commit table that Delta Spark's S3DynamoDBLogStore and delta-rs use on S3, so
 *   snaplake can share a table with them.
 */
import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { createTableAndWait } from "../../clients/dynamodb-table.js";
import { ObjectExistsError } from "../../storage/errors.js";
import type { Storage } from "../../storage/types.js";
import { isS3Uri, joinUri } from "../../storage/uri.js";
import { commitFileName } from "./actions.js";
import { DeltaInputError, DeltaLogError } from "./errors.js";

export interface DeltaLogStore {
  /**
   * Writes `_delta_log/<version>.json` with `body` only if no commit has that version yet. Resolves true
   * when this call created it, false when another writer holds that version.
   */
  writeCommit(tableUri: string, version: number, body: string): Promise<boolean>;
  /** Runs before the log is listed: finishes commits another writer left half-done. */
  beforeList(tableUri: string): Promise<void>;
}

export function logFolder(tableUri: string): string {
  return joinUri(tableUri, "_delta_log/");
}

export class ConditionalPutLogStore implements DeltaLogStore {
  constructor(
    private readonly storage: Storage,
    /** Default: Delta's `_delta_log/N.json`. */
    private readonly layout: CommitLayout = DELTA_LOG_LAYOUT,
  ) {}

  async writeCommit(tableUri: string, version: number, body: string): Promise<boolean> {
    const { folder, entryKey, fileOf } = this.layout;
    try {
      await this.storage.putIfAbsent(joinUri(folder(tableUri), fileOf(entryKey(version))), body, {
        contentType: "application/json",
      });
      return true;
    } catch (error) {
      if (error instanceof ObjectExistsError) return false;
      throw error;
    }
  }

  async beforeList(_tableUri: string): Promise<void> {}
}

/**
 * The log store for a table URI when the caller gives none: local folders get exclusive create. S3 has
 * no safe default (plain PUTs overwrite), so the caller must choose DynamoDbLogStore or, on AWS S3,
 * ConditionalPutLogStore.
 */
export function defaultLogStore(storage: Storage, tableUri: string): DeltaLogStore {
  if (isS3Uri(tableUri)) {
    throw new DeltaInputError(
      `Delta table ${tableUri} is on S3, where a plain PUT can overwrite another writer's commit: pass a ` +
        `logStore, DynamoDbLogStore (the commit table Delta Spark and delta-rs share) or ConditionalPutLogStore ` +
        `(AWS S3 conditional writes)`,
    );
  }
  return new ConditionalPutLogStore(storage);
}

const ATTR_TABLE_PATH = "tablePath";
const ATTR_FILE_NAME = "fileName";
const ATTR_TEMP_PATH = "tempPath";
const ATTR_COMPLETE = "complete";
const ATTR_EXPIRE_TIME = "expireTime";

/** How long a completed entry must outlive its commit (Delta's default, 1 day): see BaseExternalLogStore. */
const DEFAULT_EXPIRATION_SECONDS = 24 * 60 * 60;

interface CommitEntry {
  tablePath: string;
  fileName: string;
  /** Relative to `_delta_log/`, e.g. `.tmp/00000000000000000003.json.<uuid>`. */
  tempPath: string;
  complete: boolean;
  expireTime?: number;
}

/**
 * Where a store's versions live: the folder holding the published files (and `.tmp/`), the DynamoDB
 * `fileName` key of a version (sorting in version order), and the published file's name for a key.
 * Delta's is `_delta_log/` with `N.json` as both; Iceberg's filesystem catalog reuses the store for
 * `metadata/vN.metadata.json`.
 */
export interface CommitLayout {
  folder(tableUri: string): string;
  entryKey(version: number): string;
  fileOf(entryKey: string): string;
  /** The first version's number: it has no predecessor to check. */
  firstVersion: number;
}

export const DELTA_LOG_LAYOUT: CommitLayout = {
  folder: logFolder,
  entryKey: commitFileName,
  fileOf: (entryKey) => entryKey,
  firstVersion: 0,
};

export interface DynamoDbLogStoreOptions {
  storage: Storage;
  client: DynamoDBClient;
  /** Delta Spark's default is `delta_log`; create it with `createDeltaLogTable`. */
  tableName: string;
  /** Seconds a completed entry is kept (set as `expireTime`; enable DynamoDB TTL on it). Default 1 day. */
  expirationSeconds?: number;
  /** Default: Delta's `_delta_log/N.json`. */
  layout?: CommitLayout;
}

/**
 * S3DynamoDBLogStore's protocol (delta-io/delta storage-s3-dynamodb, BaseExternalLogStore): items keyed by
 * `tablePath` (HASH, the table URI without a trailing slash) and `fileName` (RANGE, `N.json`), with
 * `tempPath`, `complete` ("true"/"false" strings) and `expireTime` (epoch seconds, once complete).
 * To commit version N:
 *   0. fail if N.json exists;
 *   1. make sure N-1 is published: an incomplete entry for N-1 is recovered (its temp file copied);
 *   2. write the actions to the temp file T(N), then put the entry E(N, T(N), complete=false) on condition
 *      that no entry for N exists: this put is the commit, its mutual exclusion the only one S3 needs;
 *   3. copy T(N) to N.json; 4. mark E complete with an expireTime.
 * A writer dying after 2 leaves a commit that readers finish (`beforeList` recovers the latest entry),
 * so a committed version is never lost. The `tablePath` must be spelled the same way by every writer
 * sharing the table (Spark often uses `s3a://`; configure it with the same URI).
 */
export class DynamoDbLogStore implements DeltaLogStore {
  private readonly storage: Storage;
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly expirationSeconds: number;
  private readonly layout: CommitLayout;

  constructor(options: DynamoDbLogStoreOptions) {
    this.layout = options.layout ?? DELTA_LOG_LAYOUT;
    this.storage = options.storage;
    this.client = options.client;
    this.tableName = options.tableName;
    this.expirationSeconds = options.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  }

  async writeCommit(tableUri: string, version: number, body: string): Promise<boolean> {
    const tablePath = tablePathOf(tableUri);
    const folder = this.layout.folder(tableUri);
    const fileName = this.layout.entryKey(version);
    const target = joinUri(folder, this.layout.fileOf(fileName));
    if (await this.storage.exists(target)) return false;

    if (version > this.layout.firstVersion) {
      const previousKey = this.layout.entryKey(version - 1);
      const previousName = this.layout.fileOf(previousKey);
      const previous = await this.getEntry(tablePath, previousKey);
      if (previous && !previous.complete) await this.recover(tableUri, previous);
      else if (!(await this.storage.exists(joinUri(folder, previousName)))) {
        throw new DeltaLogError(
          `Cannot commit version ${version} of ${tableUri}: the previous commit ${previousName} is neither in ` +
            `${folder} nor pending in DynamoDB table ${this.tableName}`,
        );
      }
    }

    const entry: CommitEntry = {
      tablePath,
      fileName,
      tempPath: `.tmp/${this.layout.fileOf(fileName)}.${randomUUID()}`,
      complete: false,
    };
    const tempUri = joinUri(folder, entry.tempPath);
    await this.storage.put(tempUri, body, { contentType: "application/json" });
    try {
      await this.putEntry(entry, false);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      await this.storage.delete([tempUri]); // never referenced: the entry is another writer's
      return false;
    }
    // The entry is the commit from here on; a failure below is finished by the next reader's recovery.
    try {
      await this.storage.put(target, body, { contentType: "application/json" });
      await this.putEntry(this.completed(entry), true);
    } catch (error) {
      throw new DeltaLogError(
        `Version ${version} of ${tableUri} is committed in DynamoDB table ${this.tableName} but could not yet ` +
          `be copied to ${target}; the next reader or writer of the table finishes it`,
        { cause: error },
      );
    }
    return true;
  }

  async beforeList(tableUri: string): Promise<void> {
    const latest = await this.latestEntry(tablePathOf(tableUri));
    if (latest && !latest.complete) await this.recover(tableUri, latest);
  }

  /** Publishes an incomplete entry's temp file under its version's name, then marks the entry complete. */
  private async recover(tableUri: string, entry: CommitEntry): Promise<void> {
    const folder = this.layout.folder(tableUri);
    const target = joinUri(folder, this.layout.fileOf(entry.fileName));
    if (!(await this.storage.exists(target))) {
      const body = await this.storage.get(joinUri(folder, entry.tempPath));
      await this.storage.put(target, body, { contentType: "application/json" });
    }
    await this.putEntry(this.completed(entry), true);
  }

  private completed(entry: CommitEntry): CommitEntry {
    return { ...entry, complete: true, expireTime: Math.floor(Date.now() / 1000) + this.expirationSeconds };
  }

  private async putEntry(entry: CommitEntry, overwrite: boolean): Promise<void> {
    const item: Record<string, AttributeValue> = {
      [ATTR_TABLE_PATH]: { S: entry.tablePath },
      [ATTR_FILE_NAME]: { S: entry.fileName },
      [ATTR_TEMP_PATH]: { S: entry.tempPath },
      [ATTR_COMPLETE]: { S: String(entry.complete) },
    };
    if (entry.expireTime !== undefined) item[ATTR_EXPIRE_TIME] = { N: String(entry.expireTime) };
    const put = new PutItemCommand({
      TableName: this.tableName,
      Item: item,
      ...(overwrite ? {} : { ConditionExpression: `attribute_not_exists(${ATTR_FILE_NAME})` }),
    });
    try {
      await this.client.send(put);
    } catch (error) {
      // The table's first commit creates the commit table, as the tracker's embedded default does its own.
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await createDeltaLogTable(this.client, this.tableName);
      await this.client.send(put);
    }
  }

  private async getEntry(tablePath: string, fileName: string): Promise<CommitEntry | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [ATTR_TABLE_PATH]: { S: tablePath }, [ATTR_FILE_NAME]: { S: fileName } },
          ConsistentRead: true,
        }),
      )
      .catch(noEntriesWithoutTable);
    return out.Item ? this.entryOf(out.Item) : undefined;
  }

  private async latestEntry(tablePath: string): Promise<CommitEntry | undefined> {
    const out = await this.client
      .send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `${ATTR_TABLE_PATH} = :tablePath`,
          ExpressionAttributeValues: { ":tablePath": { S: tablePath } },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      )
      .catch(noEntriesWithoutTable);
    const item = out.Items?.[0];
    return item ? this.entryOf(item) : undefined;
  }

  private entryOf(item: Record<string, AttributeValue>): CommitEntry {
    const text = (name: string): string => {
      const value = item[name]?.S;
      if (value === undefined) {
        throw new DeltaLogError(
          `DynamoDB log table ${this.tableName}: an item has no string attribute ${name}`,
        );
      }
      return value;
    };
    const expire = item[ATTR_EXPIRE_TIME]?.N;
    return {
      tablePath: text(ATTR_TABLE_PATH),
      fileName: text(ATTR_FILE_NAME),
      tempPath: text(ATTR_TEMP_PATH),
      complete: text(ATTR_COMPLETE) === "true",
      ...(expire !== undefined ? { expireTime: Number(expire) } : {}),
    };
  }
}

/** A commit table that does not exist yet (no commit made it) holds no entries: reading creates nothing. */
function noEntriesWithoutTable(error: unknown): { Item?: undefined; Items?: undefined } {
  if (error instanceof ResourceNotFoundException) return {};
  throw error;
}

/** The `tablePath` key: the table URI without a trailing slash. */
function tablePathOf(tableUri: string): string {
  return tableUri.replace(/\/+$/, "");
}

/**
 * Creates the commit table (on-demand capacity) if it does not exist and waits until it is active. The
 * key schema is the one Delta Spark and delta-rs expect. Enable TTL on `expireTime` to let DynamoDB drop
 * completed entries.
 */
export async function createDeltaLogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createTableAndWait(client, {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: ATTR_TABLE_PATH, AttributeType: "S" },
      { AttributeName: ATTR_FILE_NAME, AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: ATTR_TABLE_PATH, KeyType: "HASH" },
      { AttributeName: ATTR_FILE_NAME, KeyType: "RANGE" },
    ],
    BillingMode: "PAY_PER_REQUEST",
  });
}
