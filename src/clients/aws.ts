/**
 * AWS SDK client factories. Credentials and region come from the standard AWS chain unless given;
 * the standard `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_GLUE` variables are
 * honoured by the SDK itself, and an explicit endpoint (S3-compatible servers, DynamoDB Local) wins.
 * Throttling is retried by the SDK's adaptive retry mode.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  GetTableCommand,
  type GetTableCommandInput,
  type GetTableCommandOutput,
  GlueClient,
  UpdateTableCommand,
  type UpdateTableCommandInput,
} from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";

export interface AwsClientOptions {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

export interface S3ClientOptions extends AwsClientOptions {
  /** Path-style addressing, needed by most S3-compatible servers. Defaults to true when an endpoint is given. */
  forcePathStyle?: boolean;
}

function region(options: AwsClientOptions): string {
  return options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  return new S3Client({
    region: region(options),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? 8,
    // Checksums only where S3 requires them: keeps S3-compatible servers that don't decode
    // aws-chunked trailers (s3rver, older MinIO) storing the bytes we sent.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export function createDynamoDBClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    region: region(options),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? 10,
  });
}

/** The three Glue Data Catalog calls an Iceberg table's Glue catalog makes, as plain functions. */
export interface GlueCatalogClient {
  getTable(input: GetTableCommandInput): Promise<GetTableCommandOutput>;
  createTable(input: CreateTableCommandInput): Promise<unknown>;
  updateTable(input: UpdateTableCommandInput): Promise<unknown>;
  destroy(): void;
}

export function createGlueClient(options: AwsClientOptions = {}): GlueCatalogClient {
  const client = new GlueClient({
    region: region(options),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? 8,
  });
  return {
    getTable: (input) => client.send(new GetTableCommand(input)),
    createTable: (input) => client.send(new CreateTableCommand(input)),
    updateTable: (input) => client.send(new UpdateTableCommand(input)),
    destroy: () => client.destroy(),
  };
}
