/**
 * Starts the real protocol servers the suite talks to, on free loopback ports, and stops them:
 * dynalite (in memory), s3rver (in a temp folder) and, when Java is present, DynamoDB Local.
 * Tests read the endpoints with `inject("servers")`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type RunningServer, startDynalite, startDynamoDbLocal, startS3rver } from "./servers.js";

export interface ServerEndpoints {
  dynalite: string;
  dynamoDbLocal: string | null;
  s3: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    servers: ServerEndpoints;
  }
}

function javaAvailable(): boolean {
  return spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0;
}

export default async function setup(project: TestProject) {
  const s3Dir = mkdtempSync(join(tmpdir(), "snaplake-s3rver-"));
  const running: RunningServer[] = [];
  try {
    const [dynalite, s3] = await Promise.all([startDynalite(), startS3rver(s3Dir)]);
    running.push(dynalite, s3);
    let dynamoDbLocal: RunningServer | null = null;
    if (process.env.SNAPLAKE_TEST_DYNAMODB_LOCAL !== "0" && javaAvailable()) {
      dynamoDbLocal = await startDynamoDbLocal();
      running.push(dynamoDbLocal);
    } else if (process.env.CI) {
      throw new Error("CI must run the suite against DynamoDB Local too, but java was not found");
    }
    project.provide("servers", {
      dynalite: dynalite.endpoint,
      dynamoDbLocal: dynamoDbLocal?.endpoint ?? null,
      s3: s3.endpoint,
    });
  } catch (error) {
    await Promise.all(running.map((s) => s.stop()));
    throw error;
  }
  return async () => {
    await Promise.all(running.map((s) => s.stop()));
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
