/**
 * The Glue catalog against a local HTTP server that speaks Glue's JSON protocol (`X-Amz-Target:
 * AWSGlue.<Operation>`, `application/x-amz-json-1.1`) with the response and error shapes AWS documents
 * (GetTable's `Table` with `VersionId`; `__type` EntityNotFoundException, AlreadyExistsException,
 * ConcurrentModificationException). The server checks each request's shape and keeps one table with a
 * VersionId, refusing an UpdateTable at a stale one, as Glue does. No AWS Glue service is exercised.
 */

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { icebergRead } from "icebird";
import pl from "nodejs-polars";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createStorage } from "../../../src/storage/create.js";
import type { Storage } from "../../../src/storage/types.js";
import {
  commitToIcebergTable,
  GlueCatalog,
  type GlueClientLike,
  IcebergCatalogError,
  openIcebergTable,
} from "../../../src/table/iceberg/index.js";
import { installFileFetch } from "./file-fetch.js";

// biome-ignore lint/suspicious/noExplicitAny: recorded Glue request bodies, checked by the assertions
type Loose = any;

interface Recorded {
  target: string;
  body: Record<string, unknown>;
}

/** One Glue table in memory, answered and checked as the Glue API documents it. */
function glueServer() {
  const requests: Recorded[] = [];
  let table: Record<string, unknown> | null = null;
  let version = 0;
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"]);
      const body = JSON.parse(text) as Record<string, unknown>;
      requests.push({ target, body });
      const fail = (type: string, message: string) => {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: type, Message: message }));
      };
      const ok = (value: unknown) => {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(value));
      };
      if (req.headers["content-type"] !== "application/x-amz-json-1.1")
        return fail("ValidationException", "type");
      if (body.DatabaseName !== "lake") return fail("EntityNotFoundException", "Database lake not found.");
      const input = body.TableInput as Record<string, unknown> | undefined;
      switch (target) {
        case "AWSGlue.GetTable":
          if (!table || body.Name !== "orders")
            return fail("EntityNotFoundException", "Table orders not found.");
          return ok({
            Table: { ...table, DatabaseName: "lake", VersionId: String(version), CreateTime: 1.7e9 },
          });
        case "AWSGlue.CreateTable":
          if (table) return fail("AlreadyExistsException", "Table already exists.");
          table = input!;
          version = 1;
          return ok({});
        case "AWSGlue.UpdateTable":
          if (!table) return fail("EntityNotFoundException", "Table orders not found.");
          if (body.VersionId !== String(version)) {
            return fail(
              "ConcurrentModificationException",
              "Update table failed due to concurrent modifications.",
            );
          }
          table = input!;
          version++;
          return ok({});
        default:
          return fail("UnknownOperationException", target);
      }
    });
  });
  return { server, requests };
}

/** What @aws-sdk/client-glue does for these three calls, minus signing: JSON over HTTP, errors by __type. */
function jsonGlueClient(endpoint: string): GlueClientLike {
  const call = async (operation: string, input: unknown): Promise<Loose> => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSGlue.${operation}` },
      body: JSON.stringify(input),
    });
    const body: Loose = await response.json();
    if (!response.ok) throw Object.assign(new Error(body.Message), { name: body.__type });
    return body;
  };
  return {
    getTable: (input) => call("GetTable", input),
    createTable: (input) => call("CreateTable", input),
    updateTable: (input) => call("UpdateTable", input),
  };
}

let root: string;
let table: string;
let storage: Storage;
let glue: ReturnType<typeof glueServer>;
let endpoint: string;
let restoreFetch: () => void;

beforeAll(() => {
  restoreFetch = installFileFetch();
});
afterAll(() => restoreFetch());
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "snaplake-glue-"));
  table = join(root, "orders");
  storage = createStorage({ localRoot: root });
  glue = glueServer();
  await new Promise<void>((resolve) => glue.server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(glue.server.address() as AddressInfo).port}/`;
});
afterEach(async () => {
  await new Promise((resolve) => (glue.server as Server).close(resolve));
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function writeOrders(day: string, rows: number): Promise<string> {
  const path = join(table, `day=${day}`, `part-${++counter}.parquet`);
  await mkdir(dirname(path), { recursive: true });
  pl.DataFrame({
    id: pl.Series(
      "id",
      Array.from({ length: rows }, (_, i) => i),
      pl.Int64,
    ),
  }).writeParquet(path);
  return pathToFileURL(path).href;
}

const catalog = (database = "lake") =>
  new GlueCatalog({ storage, client: jsonGlueClient(endpoint), database, name: "orders", tableUri: table });
const commit = (projectId: string, files: string[], database = "lake") =>
  commitToIcebergTable({
    storage,
    catalog: catalog(database),
    projectId,
    mode: "append",
    files,
    partitionColumns: ["day"],
  });

describe("Iceberg in the Glue Data Catalog (recorded API shapes)", () => {
  it("creates the table, then updates it at the VersionId it read, naming the previous metadata", async () => {
    await commit("batch-1", [await writeOrders("2024-06-01", 4)]);
    await commit("batch-2", [await writeOrders("2024-06-02", 6)]);
    expect(glue.requests.map((r) => r.target)).toEqual([
      "AWSGlue.GetTable",
      "AWSGlue.CreateTable",
      "AWSGlue.GetTable",
      "AWSGlue.UpdateTable",
    ]);
    const created = glue.requests[1]!.body as Loose;
    expect(created.TableInput).toMatchObject({
      Name: "orders",
      TableType: "EXTERNAL_TABLE",
      Parameters: { table_type: "ICEBERG" },
      StorageDescriptor: { Location: pathToFileURL(table).href },
    });
    expect(created.TableInput.Parameters.metadata_location).toMatch(
      /\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/,
    );
    const updated = glue.requests[3]!.body as Loose;
    expect(updated.VersionId).toBe("1");
    expect(updated.TableInput.Parameters.previous_metadata_location).toBe(
      created.TableInput.Parameters.metadata_location,
    );
    expect(updated.TableInput.Parameters.metadata_location).toMatch(/\/metadata\/00001-/);

    // Not ours: icebird reads the metadata file Glue points at.
    const name = updated.TableInput.Parameters.metadata_location.split("/").pop();
    const rows = await icebergRead({ tableUrl: pathToFileURL(table).href, metadataFileName: name });
    expect(rows).toHaveLength(10);
    const opened = await openIcebergTable(storage, catalog());
    expect(opened.history().map((h) => h.projectId)).toEqual(["batch-1", "batch-2"]);
  });

  it("retries after a ConcurrentModificationException; a re-run adds nothing", async () => {
    await commit("batch-1", [await writeOrders("2024-06-01", 4)]);
    const [a, b] = await Promise.all([
      commit("writer-a", [await writeOrders("2024-06-02", 2)]),
      commit("writer-b", [await writeOrders("2024-06-03", 3)]),
    ]);
    expect(a.committed && b.committed).toBe(true);
    expect(glue.requests.filter((r) => r.target === "AWSGlue.UpdateTable").length).toBeGreaterThanOrEqual(2);
    const opened = await openIcebergTable(storage, catalog());
    expect(opened.files.reduce((sum, f) => sum + f.rows, 0)).toBe(9);
    const again = await commit("writer-a", [await writeOrders("2024-06-02", 2)]);
    expect(again.committed).toBe(false);
  });

  it("fails with the Glue error when the database does not exist", async () => {
    const files = [await writeOrders("2024-06-01", 1)];
    // GetTable's EntityNotFoundException means "no table yet"; CreateTable's is an error naming the call.
    await expect(commit("batch-1", files, "missing")).rejects.toThrow(IcebergCatalogError);
    await expect(commit("batch-1", files, "missing")).rejects.toThrow(
      /Glue CreateTable missing\.orders failed/,
    );
  });
});
