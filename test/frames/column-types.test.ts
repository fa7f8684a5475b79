import { parquetMetadata, parquetSchema } from "hyparquet";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { dtypeOfTypeName, footerTypeName, typeNameOf } from "../../src/frames/column-types.js";
import { footerColumnTypes } from "../../src/frames/parquet.js";

const dtypes: Record<string, pl.DataType> = {
  bool: pl.Bool,
  i8: pl.Int8,
  i16: pl.Int16,
  i32: pl.Int32,
  i64: pl.Int64,
  u8: pl.UInt8,
  u16: pl.UInt16,
  u32: pl.UInt32,
  u64: pl.UInt64,
  f32: pl.Float32,
  f64: pl.Float64,
  text: pl.Utf8,
  day: pl.Date,
  ms: pl.Datetime("ms"),
  us: pl.Datetime("us"),
  ns: pl.Datetime("ns"),
  zoned: pl.Datetime("us", "Europe/Paris"),
  list: pl.List(pl.Int64),
  nested: pl.List(pl.Utf8),
  nothing: pl.Null,
  record: pl.Struct([new pl.Field("a", pl.Int64), new pl.Field('b, "c": d', pl.List(pl.Utf8))]),
  records: pl.List(pl.Struct([new pl.Field("x", pl.Float64)])),
};

describe("column type names", () => {
  it("name every dtype the same from a frame and from the Parquet footer polars writes", () => {
    const frame = pl
      .DataFrame({ seed: [1] })
      .select(
        ...Object.entries(dtypes).map(([name, dtype]) =>
          (name === "nothing" ? pl.lit(null) : pl.lit(null).cast(dtype)).alias(name),
        ),
      );
    const bytes = frame.writeParquet({ compression: "zstd" });
    const metadata = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    const fromFooter = footerColumnTypes(metadata);
    const fromFrame = frame.columns.map((c) => [c, typeNameOf(frame.getColumn(c).dtype)]);
    expect(fromFooter).toEqual(fromFrame);
    expect(Object.fromEntries(fromFooter)).toMatchObject({
      i8: "Int8",
      u64: "UInt64",
      text: "String",
      us: "Datetime(us)",
      zoned: "Datetime(us, tz)",
      list: "List(Int64)",
      nothing: "Null",
    });
    expect(parquetSchema(metadata).children.map((c) => footerTypeName(c))).toEqual(
      fromFooter.map(([, t]) => t),
    );
    // And each name converts back to the dtype it came from; a zoned datetime keeps the data's zone.
    for (const [column, dtype] of Object.entries(dtypes)) {
      expect(String(dtypeOfTypeName(typeNameOf(dtype), dtype)), column).toBe(String(dtype));
    }
    expect(Object.fromEntries(fromFooter).record).toBe('Struct("a": Int64, "b, \\"c\\": d": List(String))');
    expect(dtypeOfTypeName("Struct(a: Int64)")).toBeUndefined();
  });
});
