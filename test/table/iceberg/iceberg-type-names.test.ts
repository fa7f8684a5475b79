/**
 * The Delta and Iceberg names of a primitive type: the one pair of conversions the Iceberg commit (Delta
 * names from Parquet footers to Iceberg's) and the lake reader (Iceberg's back, for partition literals) use.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { TableSettings } from "../../../src/config.js";
import type { DeltaPrimitiveType } from "../../../src/table/delta/schema.js";
import { deltaPrimitiveOf, icebergPrimitiveOf } from "../../../src/table/iceberg/schema.js";
import type { LakeFormat } from "../../../src/table/types.js";

describe("primitive type names between Delta and Iceberg", () => {
  it("reads every Delta type Iceberg keeps apart back as itself, and the narrow ints as integer", () => {
    const kept: DeltaPrimitiveType[] = [
      "string",
      "long",
      "integer",
      "float",
      "double",
      "boolean",
      "binary",
      "date",
      "timestamp",
      "timestamp_ntz",
      "decimal(12,3)",
    ];
    for (const type of kept) expect(deltaPrimitiveOf(icebergPrimitiveOf(type)), type).toBe(type);
    expect(icebergPrimitiveOf("timestamp")).toBe("timestamptz");
    expect(icebergPrimitiveOf("timestamp_ntz")).toBe("timestamp");
    expect(deltaPrimitiveOf(icebergPrimitiveOf("byte"))).toBe("integer");
    expect(deltaPrimitiveOf(icebergPrimitiveOf("short"))).toBe("integer");
    // One format type for configs, detection and reading (checked by tsc, in npm run lint).
    expectTypeOf<LakeFormat>().toEqualTypeOf<TableSettings["format"]>();
  });

  it("has no Delta name for the Iceberg types Delta lacks", () => {
    for (const type of ["time", "uuid", "fixed[16]"]) expect(deltaPrimitiveOf(type), type).toBeNull();
  });
});
