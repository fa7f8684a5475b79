/** Clients and unique names for tests, pointed at the servers started by the global setup. */
import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import { createDynamoDBClient, createS3Client } from "../../src/clients/aws.js";

const testCredentials = { accessKeyId: "snaplaketest", secretAccessKey: "snaplaketest" };

/** A short unique name, valid as an S3 bucket or DynamoDB table name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`.toLowerCase();
}

export function testS3Client(): S3Client {
  const { s3 } = inject("servers");
  // s3rver only accepts its own fixed key pair.
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  return createS3Client({ endpoint: s3, forcePathStyle: true, credentials, maxAttempts: 3 });
}

export async function createTestBucket(client: S3Client, prefix = "bucket"): Promise<string> {
  const bucket = uniqueName(prefix);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export interface DynamoBackend {
  name: "dynalite" | "dynamodb-local";
  endpoint: string;
}

/** Every DynamoDB-protocol server this run has: dynalite always, DynamoDB Local when Java is present. */
export function dynamoBackends(): DynamoBackend[] {
  const { dynalite, dynamoDbLocal } = inject("servers");
  const backends: DynamoBackend[] = [{ name: "dynalite", endpoint: dynalite }];
  if (dynamoDbLocal) backends.push({ name: "dynamodb-local", endpoint: dynamoDbLocal });
  return backends;
}

export function testDynamoClient(endpoint: string): DynamoDBClient {
  return createDynamoDBClient({ endpoint, credentials: testCredentials, maxAttempts: 3 });
}
