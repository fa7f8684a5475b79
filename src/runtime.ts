/**
 * What a project runs on, built from its config: storage for every URI scheme, and the tracker — a
 * DynamoDB table when `tracker.tableName` is set, otherwise the embedded default: dynalite persisted under
 * the state folder (`.snaplake/` by default), served on a loopback port for the life of the process.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
// @ts-expect-error dynalite ships no types
import dynalite from "dynalite";
import { createDynamoDBClient } from "./aws/clients.js";
import type { ProjectConfig } from "./config.js";
import { SnaplakeError } from "./errors.js";
import { type Logger, silentLogger } from "./logging.js";
import { createStorage } from "./storage/create.js";
import type { Storage } from "./storage/types.js";
import { DynamoTracker } from "./tracker/dynamo-tracker.js";

export const EMBEDDED_TABLE_NAME = "snaplake-tasks";

/** Storage, tracker and logger: what a Project needs (`new MyProject(config, runtime)`). */
export interface Runtime {
  storage: Storage;
  tracker: DynamoTracker;
  logger: Logger;
  /**
   * The DynamoDB client for the project's AWS settings (e.g. for Snowplow's event manifest), made on first
   * use and closed with the runtime; the tracker's own client when the tracker is a DynamoDB table.
   */
  dynamodb(): DynamoDBClient;
  close(): Promise<void>;
}

export class EmbeddedTrackerBusyError extends SnaplakeError {
  constructor(stateDir: string, cause: unknown) {
    super(
      "EMBEDDED_TRACKER_BUSY",
      `The embedded tracker in ${stateDir} is open in another process (it serves one process at a time). ` +
        "Wait for it to finish, or set tracker.tableName to a DynamoDB table to run several workers.",
      { cause },
    );
  }
}

interface EmbeddedServer {
  endpoint: string;
  close(): Promise<void>;
}

async function startEmbeddedDynamo(stateDir: string): Promise<EmbeddedServer> {
  const path = resolve(stateDir, "tracker");
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export async function openRuntime(
  config: ProjectConfig,
  options: { stateDir?: string; logger?: Logger } = {},
): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const { aws, tracker: trackerConfig } = config;
  const storage = createStorage({
    s3: { region: aws.region, endpoint: aws.s3Endpoint, forcePathStyle: aws.forcePathStyle },
  });
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
  if (trackerConfig.tableName) {
    const tracker = new DynamoTracker({
      client: dynamodb(),
      tableName: trackerConfig.tableName,
      ...trackerOptions,
    });
    return { storage, tracker, logger, dynamodb, close: async () => projectClient?.destroy() };
  }

  const stateDir = resolve(options.stateDir ?? ".snaplake");
  let server: EmbeddedServer;
  try {
    server = await startEmbeddedDynamo(stateDir);
  } catch (error) {
    throw new EmbeddedTrackerBusyError(stateDir, error);
  }
  // dynalite accepts any credentials; fixed ones keep the SDK from searching the AWS chain.
  const client = createDynamoDBClient({
    endpoint: server.endpoint,
    region: "local",
    credentials: { accessKeyId: "embedded", secretAccessKey: "embedded" },
  });
  const tracker = new DynamoTracker({ client, tableName: EMBEDDED_TABLE_NAME, ...trackerOptions });
  await tracker.createTable();
  return {
    storage,
    tracker,
    logger,
    dynamodb,
    close: async () => {
      client.destroy();
      projectClient?.destroy();
      await server.close();
    },
  };
}
