/** The DynamoDB export generator: deterministic, and its incremental exports replay to the table it reports. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { NumberValueImpl, unmarshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDynamoDbExportManifest } from "../../src/models/dynamodb-export-manifest.js";
import { createStorage } from "../../src/storage/create.js";
import type { Storage } from "../../src/storage/types.js";
import { relativeKey } from "../../src/storage/uri.js";
import {
  generateDynamoDbExport,
  generateDynamoDbIncrementalExport,
  type TableState,
} from "../../src/testing/dynamodb-export.js";

describe("DynamoDB export generator", () => {
  let root: string;
  let storage: Storage;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "snaplake-ddb-generator-"));
    storage = createStorage({ localRoot: root });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const linesOf = async (uri: string) =>
    gunzipSync(await storage.get(uri))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("writes the same export, byte for byte, for the same seed", async () => {
    const options = { itemCount: 500, fileCount: 3, seed: 5 };
    const first = await generateDynamoDbExport(storage, { ...options, baseUri: `file://${root}/a/` });
    const second = await generateDynamoDbExport(storage, { ...options, baseUri: `file://${root}/b/` });
    expect(second.exportId).toBe(first.exportId);
    const contents = async (folder: string) => {
      const out: Record<string, string> = {};
      for await (const object of storage.list(folder)) out[relativeKey(folder, object.uri)] = object.etag;
      return out;
    };
    const firstFiles = await contents(first.folder);
    expect(Object.keys(firstFiles).sort()).toEqual(
      expect.arrayContaining(["_started", "manifest-files.json", "manifest-summary.json"]),
    );
    expect(Object.keys(firstFiles).filter((k) => /^data\/[a-z2-7]{26}\.json\.gz$/.test(k))).toHaveLength(3);
    expect(await contents(second.folder)).toEqual(firstFiles);
  });

  it("writes incremental exports whose lines replay, latest write per key, to the table it reports", async () => {
    const full = await generateDynamoDbExport(storage, {
      baseUri: `file://${root}/inc/`,
      itemCount: 300,
      seed: 9,
    });
    let table: TableState = full.table;
    const windows = [
      [Date.UTC(2024, 5, 1, 0), Date.UTC(2024, 5, 1, 1)],
      [Date.UTC(2024, 5, 1, 1), Date.UTC(2024, 5, 1, 2)],
    ] as const;
    for (const [index, [from, to]] of windows.entries()) {
      const incremental = await generateDynamoDbIncrementalExport(storage, {
        baseUri: `file://${root}/inc/`,
        previous: table,
        exportFromTime: new Date(from),
        exportToTime: new Date(to),
        inserts: 20,
        updates: 30,
        deletes: 10,
        seed: 100 + index,
      });
      const exported = await readDynamoDbExportManifest(storage, incremental.folder);
      expect(exported.exportType).toBe("INCREMENTAL_EXPORT");
      expect(exported.outputView).toBe("NEW_AND_OLD_IMAGES");
      expect(exported.exportFromTime).toBe(new Date(from).toISOString());
      expect(exported.exportToTime).toBe(new Date(to).toISOString());
      expect(exported.itemCount).toBe(60);

      // Replay the lines as a consumer would: a line without NewImage deletes its key.
      const replayed = new Map([...table].map(([key, item]) => [key, JSON.stringify(item, stringifyNative)]));
      const seen = new Set<string>();
      for (const file of exported.files) {
        const lines = await linesOf(file.uri);
        expect(lines).toHaveLength(file.nRecord);
        for (const line of lines) {
          const micros = BigInt(
            (line.Metadata as { WriteTimestampMicros: { N: string } }).WriteTimestampMicros.N,
          );
          expect(micros >= BigInt(from) * 1000n && micros < BigInt(to) * 1000n).toBe(true);
          const keys = unmarshall(line.Keys as never);
          const key = `${keys.pk}|${keys.sk}`;
          expect(seen.has(key)).toBe(false); // one line per key: the window's latest state
          seen.add(key);
          if (line.NewImage) {
            expect(line.OldImage !== undefined).toBe(replayed.has(key)); // an update carries its old image
            replayed.set(
              key,
              JSON.stringify(unmarshall(line.NewImage as never, { wrapNumbers: true }), stringifyNative),
            );
          } else {
            expect(line.OldImage).toBeDefined();
            expect(replayed.has(key)).toBe(true);
            replayed.delete(key);
          }
        }
      }
      expect(seen.size).toBe(60);
      table = incremental.table;
      const reported = new Map([...table].map(([key, item]) => [key, JSON.stringify(item, stringifyNative)]));
      expect(replayed).toEqual(reported);
    }
  });
});

/** Comparable JSON of native values: sets as arrays, binary as the export's base64, numbers as their text. */
function stringifyNative(_key: string, value: unknown): unknown {
  const binary = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v);
  if (value instanceof Set) return [...value].map(binary);
  if (value instanceof Uint8Array) return binary(value);
  if (typeof value === "number" || typeof value === "bigint" || value instanceof NumberValueImpl)
    return String(value);
  return value;
}
