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
