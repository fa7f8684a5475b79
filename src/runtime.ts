/**
 * What a project runs on, built from its config: storage for every URI scheme, and the tracker — a
 * DynamoDB table when `tracker.tableName` is set, otherwise the embedded default: dynalite persisted under
 * the state folder (`.snaplake/` by default), shared by every local process that opens that folder
 * (see tracker/embedded.ts).
 * Local storage is confined to the config's folders: reads to the snapshot's roots, staging and the lake;
 * writes to staging and the lake. Opening a runtime also tunes the process's allocator (see allocator.ts).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { keepFreedMemory } from "./allocator.js";
import { createDynamoDBClient, createGlueClient, type GlueCatalogClient } from "./clients/aws.js";
import type { ProjectConfig } from "./config.js";
import { type Logger, silentLogger } from "./logging.js";
import { snapshotConfinement } from "./models/manifests.js";
import { createStorage } from "./storage/create.js";
import type { LocalRoots } from "./storage/local.js";
import type { Storage } from "./storage/types.js";
import { isS3Uri, parseUri } from "./storage/uri.js";
import { DynamoTracker } from "./tracker/dynamo-tracker.js";
import { EmbeddedTracker } from "./tracker/embedded.js";

export { EmbeddedTrackerBusyError, EmbeddedTrackerUnavailableError } from "./tracker/embedded.js";

export const EMBEDDED_TABLE_NAME = "snaplake-tasks";

/** Storage, tracker and logger: what a Project needs (`new MyProject(config, runtime)`). */
export interface Runtime {
  storage: Storage;
  tracker: DynamoTracker;
  logger: Logger;
  /** Which tracker this is, for people: the embedded state folder, or the DynamoDB table and region. */
  trackerDescription: string;
  /**
   * The DynamoDB client for the project's AWS settings (e.g. for Snowplow's event manifest), made on first
   * use and closed with the runtime; the tracker's own client when the tracker is a DynamoDB table.
   */
  dynamodb(): DynamoDBClient;
  /** The Glue client for the project's AWS settings (an Iceberg table in the Glue Data Catalog), made on first use. */
  glue(): GlueCatalogClient;
  close(): Promise<void>;
}

/** The local folders a project may read (the snapshot's roots) and write (staging and the lake). */
export function localRootsOf(config: ProjectConfig): LocalRoots {
  const localPaths = (uris: readonly string[]) =>
    uris.filter((uri) => !isS3Uri(uri)).map((uri) => (parseUri(uri) as { path: string }).path);
  return {
    read: localPaths(snapshotConfinement(config.snapshot).roots),
    write: localPaths([config.stagingUri, config.datalakeUri]),
  };
}

/**
 * The project's storage alone, confined as in a runtime: for commands that only read the snapshot or the
 * lake (`run --dry-run`, `preview`, `query`) and must not open, or create, a tracker.
 */
export function openStorage(config: ProjectConfig): Storage {
  const { aws } = config;
  return createStorage({
    s3: { region: aws.region, endpoint: aws.s3Endpoint, forcePathStyle: aws.forcePathStyle },
    localRoot: localRootsOf(config),
  });
}

export async function openRuntime(
  config: ProjectConfig,
  options: { stateDir?: string; logger?: Logger } = {},
): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  // Process-wide, once: every batch's buffers are reused instead of mapped from the kernel again.
  logger.debug(
    { allocator: await keepFreedMemory() },
    "allocator tuning (SNAPLAKE_MALLOC=system keeps glibc's defaults)",
  );
  const { aws, tracker: trackerConfig } = config;
  const storage = openStorage(config);
  const trackerOptions = {
    leaseMs: trackerConfig.leaseSeconds * 1000,
    maxAttempts: trackerConfig.maxAttempts,
    retryDelayMs: trackerConfig.retryDelaySeconds * 1000,
    ...(trackerConfig.indexName ? { indexName: trackerConfig.indexName } : {}),
    logger,
  };
  // The project's own DynamoDB (region, endpoint; credentials from the standard chain), made on first use.
  let projectClient: DynamoDBClient | undefined;
  const dynamodb = () =>
    (projectClient ??= createDynamoDBClient({ region: aws.region, endpoint: aws.dynamodbEndpoint }));
  let glueClient: GlueCatalogClient | undefined;
  const glue = () => (glueClient ??= createGlueClient({ region: aws.region, endpoint: aws.glueEndpoint }));
  if (trackerConfig.tableName) {
    const tracker = new DynamoTracker({
      client: dynamodb(),
      tableName: trackerConfig.tableName,
      ...trackerOptions,
    });
    const region = await dynamodb().config.region();
    return {
      storage,
      tracker,
      logger,
      trackerDescription: `DynamoDB table ${trackerConfig.tableName} in ${region}`,
      dynamodb,
      glue,
      close: async () => {
        projectClient?.destroy();
        glueClient?.destroy();
      },
    };
  }

  const embedded = await EmbeddedTracker.open(options.stateDir ?? ".snaplake", { logger });
  const tracker = new DynamoTracker({
    client: embedded.client,
    tableName: EMBEDDED_TABLE_NAME,
    ...trackerOptions,
    // Every holder is a process on this machine: one that is gone can be taken over at once.
    reclaimFromGoneLocalOwners: true,
  });
  try {
    await tracker.createTable();
  } catch (error) {
    await embedded.close();
    throw error;
  }
  const { hosting, pid } = embedded.host();
  return {
    storage,
    tracker,
    logger,
    trackerDescription: `embedded, state ${embedded.stateDir} (${hosting ? "served by this process" : `served by process ${pid}`})`,
    dynamodb,
    glue,
    close: async () => {
      projectClient?.destroy();
      glueClient?.destroy();
      await embedded.close();
    },
  };
}
