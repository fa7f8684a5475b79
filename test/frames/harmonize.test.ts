import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { concatHarmonized, SchemaConflictError } from "../../src/frames/harmonize.js";

describe("concatHarmonized", () => {
  it("fills missing columns with nulls and widens ints and floats safely", () => {
    const a = pl.DataFrame({
      id: pl.Series("id", [1, 2], pl.Int16),
      x: pl.Series("x", [1.5, 2.5], pl.Float32),
    });
    const b = pl.DataFrame({
      id: pl.Series("id", [3], pl.Int64),
      extra: pl.Series("extra", ["z"], pl.Utf8),
      x: pl.Series("x", [7], pl.Int32),
    });
    const out = concatHarmonized([
      { frame: a, source: "a.parquet" },
      { frame: b, source: "b.parquet" },
    ]);
    expect(out.height).toBe(3);
    expect(String(out.getColumn("id").dtype)).toBe(String(pl.Int64));
    expect(String(out.getColumn("x").dtype)).toBe(String(pl.Float64));
    expect(out.getColumn("extra").toArray()).toEqual([null, null, "z"]);
    expect(out.getColumn("x").toArray()).toEqual([1.5, 2.5, 7]);
  });

  it("names the column and the files when types cannot be reconciled", () => {
    const a = pl.DataFrame({ amount: pl.Series("amount", [1], pl.Int32) });
    const b = pl.DataFrame({ amount: pl.Series("amount", ["1.00"], pl.Utf8) });
    const run = () =>
      concatHarmonized([
        { frame: a, source: "s3://b/one.parquet" },
        { frame: b, source: "s3://b/two.parquet" },
      ]);
    expect(run).toThrow(SchemaConflictError);
    expect(run).toThrow(/"amount".*one\.parquet.*two\.parquet/);
  });
});

describe("concatHarmonized with empty frames", () => {
  it("takes no schema from a frame without rows, and gives an empty frame when all are empty", () => {
    const headerOnly = pl.DataFrame({ order_id: pl.Series("order_id", [], pl.Utf8) });
    const data = pl.DataFrame({ order_id: pl.Series("order_id", [1, 2], pl.Int64) });
    const out = concatHarmonized([
      { frame: headerOnly, source: "empty.csv" },
      { frame: data, source: "a.csv" },
    ]);
    expect(String(out.getColumn("order_id").dtype)).toBe(String(pl.Int64));
    expect(out.getColumn("order_id").toArray()).toEqual([1n, 2n].map(Number));
    const none = concatHarmonized([{ frame: headerOnly, source: "empty.csv" }]);
    expect([none.height, none.width]).toEqual([0, 0]);
  });
});
