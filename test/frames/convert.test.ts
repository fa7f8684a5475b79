import * as arrow from "apache-arrow";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { toPolars } from "../../src/frames/convert.js";
import { parquetRowCount } from "../../src/frames/parquet.js";
import { Locations } from "../../src/models/locations.js";
import { processSnapshotGroup } from "../../src/steps/step-1-3-process-snapshot-group.js";
import { createStorage } from "../../src/storage/create.js";
import { tempDir } from "../support/temp-dir.js";

describe("Arrow tables from readers", () => {
  it("become polars frames through IPC, with dictionary strings back as plain strings", () => {
    const table = arrow.tableFromArrays({
      id: Int32Array.from([1, 2, 3]),
      city: ["Lisbon", "Oslo", "Lisbon"],
      amount: Float64Array.from([1.5, 2.5, 3.5]),
    });
    const frame = toPolars(table);
    expect(frame.height).toBe(3);
    expect(frame.getColumn("city").dtype.variant).toBe("String");
    expect(frame.getColumn("id").dtype.variant).toBe("Int32");
    expect(frame.getColumn("city").toArray()).toEqual(["Lisbon", "Oslo", "Lisbon"]);
  });

  it("work as the result of batchReadSnapshotDataFile in step 1.3", async () => {
    const root = tempDir("snaplake-arrow-");
    const storage = createStorage({ localRoot: root });
    const locations = new Locations(`${root}/staging/`, `${root}/lake/`, "arrow");
    const group = {
      kind: "snapshot-file-group" as const,
      fingerprint: "f".repeat(32),
      size: 1,
      nRecord: null,
      files: [],
    };
    const out = await processSnapshotGroup({
      storage,
      locations,
      group,
      read: async () => arrow.tableFromArrays({ region: ["eu", "us", "eu"], n: Int32Array.from([1, 2, 3]) }),
      partitionKeys: ["region"],
      compression: "zstd",
    });
    expect(out.rowsWritten).toBe(3);
    expect(out.stagingManifest.files.map((f) => [f.partition, f.nRecord])).toEqual([
      ["region=eu", 2],
      ["region=us", 1],
    ]);
  });
});

describe("parquetRowCount", () => {
  it("reads the row count from the footer alone, not the whole object", async () => {
    const root = tempDir("snaplake-footer-");
    const storage = createStorage({ localRoot: root });
    const frame = pl.DataFrame({
      id: Array.from({ length: 200_000 }, (_, i) => `row-${i}-${Math.random()}`),
    });
    const put = await storage.put(`${root}/big.parquet`, frame.writeParquet({ compression: "zstd" }));
    let bytesRead = 0;
    const counting = {
      ...storage,
      getRange: async (uri: string, start: number, end: number) => {
        bytesRead += end - start;
        return storage.getRange(uri, start, end);
      },
    };
    expect(await parquetRowCount(counting, put.uri, put.size)).toBe(200_000);
    expect(put.size).toBeGreaterThan(1_000_000);
    expect(bytesRead).toBeLessThanOrEqual(64 * 1024);
  });
});
