import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RunLeaseLostError, RunManifests } from "../../src/snowplow/run-manifests.js";
import { builtFile, snaplake } from "../support/cli.js";
import { dynamoBackends, testDynamoClient, uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

/** A plain-JavaScript child on the built library (dist/, compiled by `npm test`): starts without tsx. */
const CLAIMER = fileURLToPath(new URL("./fixtures/claim-runs.mjs", import.meta.url));
builtFile("snowplow/run-manifests.js");

interface Claimer {
  child: ChildProcess;
  lines: () => string[];
  /** Resolves once the process has loaded and waits for `go()`. */
  ready: Promise<void>;
  go: () => void;
  exited: Promise<number | null>;
}

function spawnClaimer(args: string[]): Claimer {
  const child = spawn(process.execPath, [CLAIMER, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  let out = "";
  let err = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.on("data", (chunk) => {
    out += chunk;
    if (out.startsWith("ready\n")) markReady();
  });
  child.stderr?.on("data", (chunk) => {
    err += chunk;
  });
  const exited = once(child, "exit").then(([code]) => {
    if (code !== 0 && code !== null) throw new Error(`claimer exited with ${code}: ${err}`);
    return code as number | null;
  });
  // A claimer that dies while loading must fail the test, not leave it waiting for "ready".
  const readyOrExited = Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`claimer exited with ${code} before it was ready: ${err}`);
    }),
  ]);
  return {
    child,
    lines: () => out.split("\n").filter((line) => line !== "" && line !== "ready"),
    ready: readyOrExited,
    go: () => child.stdin?.end("go\n"),
    exited,
  };
}

describe.each(dynamoBackends())("RunManifests on $name", ({ endpoint }) => {
  const client = testDynamoClient(endpoint);
  afterAll(() => client.destroy());

  async function freshTable(): Promise<RunManifests> {
    const manifests = new RunManifests(client, uniqueName("runs"));
    await manifests.create();
    return manifests;
  }

  it("creates an ACTIVE on-demand table with hash key RunId, idempotently", async () => {
    const manifests = new RunManifests(client, uniqueName("runs"));
    await manifests.create();
    await manifests.create();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: manifests.tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual([{ AttributeName: "RunId", KeyType: "HASH" }]);
    expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: "RunId", AttributeType: "S" }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
  });

  it("creates a provisioned table when asked", async () => {
    const manifests = new RunManifests(client, uniqueName("runs"));
    await manifests.create({ billing: { mode: "provisioned", readCapacityUnits: 5, writeCapacityUnits: 7 } });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: manifests.tableName }));
    expect(Table?.ProvisionedThroughput?.ReadCapacityUnits).toBe(5);
    expect(Table?.ProvisionedThroughput?.WriteCapacityUnits).toBe(7);
  });

  it("adds runs and answers contains", async () => {
    const manifests = await freshTable();
    const runId = "enriched/archive/run=2017-02-21-11-40-15/";
    expect(await manifests.contains(runId)).toBe(false);
    await manifests.add(runId);
    await manifests.add(runId);
    expect(await manifests.contains(runId)).toBe(true);
    expect(await manifests.contains("enriched/archive/run=2017-02-21-11-40-16/")).toBe(false);
  });

  it("is wire-compatible with the Python and Scala SDKs", async () => {
    const manifests = await freshTable();
    // The Python SDK's add_to_manifest: put_item(Item={'RunId': {'S': run_id}}).
    await client.send(
      new PutItemCommand({
        TableName: manifests.tableName,
        Item: { RunId: { S: "sdk/run=2017-01-01-00-00-00/" } },
      }),
    );
    expect(await manifests.contains("sdk/run=2017-01-01-00-00-00/")).toBe(true);
    expect(await manifests.claim("sdk/run=2017-01-01-00-00-00/", { leaseMs: 60_000 })).toBeNull();
    // The SDKs' is_in_manifest: get_item by RunId (Scala: AttributesToGet RunId) and test for an item.
    await manifests.add("ours/run=2017-01-01-00-00-00/");
    const lease = await manifests.claim("claimed/run=2017-01-01-00-00-00/", { leaseMs: 60_000 });
    await manifests.complete("claimed/run=2017-01-01-00-00-00/", lease!);
    for (const runId of ["ours/run=2017-01-01-00-00-00/", "claimed/run=2017-01-01-00-00-00/"]) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: manifests.tableName,
          Key: { RunId: { S: runId } },
          AttributesToGet: ["RunId"],
        }),
      );
      expect(Item).toEqual({ RunId: { S: runId } });
    }
  });

  it("claims, completes and fails runs with lease tokens", async () => {
    const manifests = await freshTable();
    const runId = "archive/run=2020-01-01-00-00-00/";
    const first = await manifests.claim(runId, { leaseMs: 60_000 });
    expect(first?.attempt).toBe(1);
    expect(await manifests.contains(runId)).toBe(false);
    expect(await manifests.claim(runId, { leaseMs: 60_000 })).toBeNull();
    expect((await manifests.status(runId))?.state).toBe("processing");

    await manifests.fail(runId, first!, new Error("disk on fire"));
    expect(await manifests.contains(runId)).toBe(false);
    expect(await manifests.status(runId)).toMatchObject({
      state: "failed",
      attempts: 1,
      lastError: "Error: disk on fire",
    });
    await expect(manifests.complete(runId, first!)).rejects.toBeInstanceOf(RunLeaseLostError);

    const second = await manifests.claim(runId, { leaseMs: 60_000 });
    expect(second?.attempt).toBe(2);
    const renewed = await manifests.renew(runId, second!, { leaseMs: 120_000 });
    expect(renewed.expiresAt).toBeGreaterThan(second!.expiresAt);
    await manifests.complete(runId, renewed);
    expect(await manifests.contains(runId)).toBe(true);
    expect(await manifests.status(runId)).toMatchObject({ state: "completed", attempts: 2 });
    expect((await manifests.status(runId))?.lastError).toBeUndefined();
    expect(await manifests.claim(runId, { leaseMs: 60_000 })).toBeNull();
  });

  it("lets a run be claimed again once its lease expires, and the old holder loses it", async () => {
    let now = 1_000_000;
    const table = await freshTable();
    const manifests = new RunManifests(client, table.tableName, { now: () => now });
    const runId = "archive/run=2020-01-02-00-00-00/";
    const stale = await manifests.claim(runId, { leaseMs: 5_000 });
    now += 4_999;
    expect(await manifests.claim(runId, { leaseMs: 5_000 })).toBeNull();
    now += 2;
    const fresh = await manifests.claim(runId, { leaseMs: 5_000 });
    expect(fresh?.attempt).toBe(2);
    await expect(manifests.complete(runId, stale!)).rejects.toBeInstanceOf(RunLeaseLostError);
    await expect(manifests.renew(runId, stale!, { leaseMs: 5_000 })).rejects.toBeInstanceOf(
      RunLeaseLostError,
    );
    await manifests.complete(runId, fresh!);
    expect(await manifests.contains(runId)).toBe(true);
  });

  it("a plain add replaces a claim (the SDK way of marking a run done)", async () => {
    const manifests = await freshTable();
    const runId = "archive/run=2020-01-03-00-00-00/";
    const lease = await manifests.claim(runId, { leaseMs: 60_000 });
    await manifests.add(runId);
    expect(await manifests.contains(runId)).toBe(true);
    await expect(manifests.complete(runId, lease!)).rejects.toBeInstanceOf(RunLeaseLostError);
  });

  it("reports a missing table as an error", async () => {
    const manifests = new RunManifests(client, uniqueName("absent"));
    await expect(manifests.contains("x")).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("two processes racing to claim the same runs: each run is won exactly once", async () => {
    const manifests = await freshTable();
    const runIds = Array.from(
      { length: 12 },
      (_, i) => `race/run=2021-01-01-00-00-${String(i).padStart(2, "0")}/`,
    );
    const racers = [0, 1].map(() =>
      spawnClaimer([endpoint, manifests.tableName, "60000", "exit", ...runIds]),
    );
    // Both loaded before either claims, so they really race.
    await Promise.all(racers.map((r) => r.ready));
    for (const racer of racers) racer.go();
    await Promise.all(racers.map((r) => r.exited));
    const results = racers.map((r) =>
      r.lines().map((line) => JSON.parse(line) as { runId: string; won: boolean }),
    );
    for (const runId of runIds) {
      const winners = results.filter((lines) => lines.find((l) => l.runId === runId)?.won);
      expect(winners, runId).toHaveLength(1);
    }
    for (const runId of runIds) expect((await manifests.status(runId))?.state).toBe("processing");
  });

  it("a killed claimer's run becomes claimable after its lease", async () => {
    const manifests = await freshTable();
    const runId = "crash/run=2021-01-01-00-00-00/";
    const leaseMs = 2000;
    const holder = spawnClaimer([endpoint, manifests.tableName, String(leaseMs), "hold", runId]);
    await holder.ready;
    holder.go();
    while (!holder.lines().includes("holding")) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(holder.lines()[0]!)).toEqual({ runId, won: true });
    holder.child.kill("SIGKILL");
    await holder.exited;
    expect(await manifests.claim(runId, { leaseMs: 60_000 })).toBeNull();
    const expiresAt = (await manifests.status(runId))?.leaseExpiresAt ?? 0;
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50));
    const lease = await manifests.claim(runId, { leaseMs: 60_000 });
    expect(lease?.attempt).toBe(2);
    await manifests.complete(runId, lease!);
    expect(await manifests.contains(runId)).toBe(true);
  });
});

describe.each(dynamoBackends())("snaplake runs on $name", ({ endpoint }) => {
  beforeEach(() => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "snaplaketest");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "snaplaketest");
    vi.stubEnv("AWS_REGION", "us-east-1");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("create, add and contains (exit 0 and true when present, 1 and false when absent)", async () => {
    const table = uniqueName("runs-cli");
    expect(await snaplake(["runs", "create", table, "--endpoint", endpoint])).toMatchObject({
      code: 0,
      stdout: `${table} is ACTIVE\n`,
    });
    const runId = "enriched/archive/run=2017-02-21-11-40-15/";
    expect(await snaplake(["runs", "contains", table, runId, "--endpoint", endpoint])).toMatchObject({
      code: 1,
      stdout: "false\n",
    });
    expect((await snaplake(["runs", "add", table, runId, "--endpoint", endpoint])).code).toBe(0);
    expect(await snaplake(["runs", "contains", table, runId, "--endpoint", endpoint])).toMatchObject({
      code: 0,
      stdout: "true\n",
    });
    const status = await snaplake(["runs", "status", table, runId, "--endpoint", endpoint]);
    expect(JSON.parse(status.stdout)).toEqual({ runId, state: "completed", attempts: 0 });

    // AWS_ENDPOINT_URL_DYNAMODB works as well as --endpoint.
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", endpoint);
    expect(await snaplake(["runs", "contains", table, runId])).toMatchObject({ code: 0, stdout: "true\n" });
    const client = testDynamoClient(endpoint);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: table, Key: { RunId: { S: runId } } }),
    );
    client.destroy();
    expect(Item).toEqual({ RunId: { S: runId } });
  });

  it("create --provisioned sets capacity and rejects a malformed value with exit 2", async () => {
    const table = uniqueName("runs-cli");
    expect(
      (await snaplake(["runs", "create", table, "--provisioned", "3,4", "--endpoint", endpoint])).code,
    ).toBe(0);
    const client = testDynamoClient(endpoint);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    client.destroy();
    expect(Table?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 3, WriteCapacityUnits: 4 });
    const bad = await snaplake([
      "runs",
      "create",
      uniqueName("runs-cli"),
      "--provisioned",
      "lots",
      "--endpoint",
      endpoint,
    ]);
    expect(bad.stderr).toMatch(/--provisioned/);
    expect(bad.code).toBe(2);
  });
});

describe("snaplake runs list", () => {
  it("prints the run ids of a local archive, oldest first, as lines or JSON", async () => {
    const root = tempDir("snaplake-runs-cli-");
    for (const name of [
      "run=2017-02-21-11-40-15",
      "run=2017-01-01-00-00-00",
      "run=2017-02-30-00-00-00",
      "other",
    ]) {
      await mkdir(join(root, name));
      await writeFile(join(root, name, "part-00000"), "x");
    }
    const base = root.replace(/^\//, "");
    const lines = await snaplake(["runs", "list", root]);
    expect(lines).toMatchObject({
      code: 0,
      stdout: `${base}/run=2017-01-01-00-00-00/\n${base}/run=2017-02-21-11-40-15/\n`,
    });
    const json = await snaplake(["runs", "list", root, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual([
      `${base}/run=2017-01-01-00-00-00/`,
      `${base}/run=2017-02-21-11-40-15/`,
    ]);
  });
});
