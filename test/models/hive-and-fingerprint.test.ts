import { describe, expect, it } from "vitest";
import { fingerprintFiles, MissingEtagError } from "../../src/models/fingerprint.js";
import { decodeHivePath, encodeHivePath, HIVE_DEFAULT_PARTITION } from "../../src/models/hive.js";

describe("Hive partition paths", () => {
  it("escapes like Hive, writes nulls as the default partition, and decodes back", () => {
    const values = { region: "eu/west=1", day: "2024-01-02", note: "50% off: a?b#c", empty: null };
    const path = encodeHivePath(["region", "day", "note", "empty"], values);
    expect(path).toBe(
      `region=eu%2Fwest%3D1/day=2024-01-02/note=50%25 off%3A a%3Fb%23c/empty=${HIVE_DEFAULT_PARTITION}`,
    );
    expect(path.split("/")).toHaveLength(4);
    expect(decodeHivePath(path)).toEqual(values);
  });

  it("keeps non-ASCII and spaces as they are (Hive does not escape them)", () => {
    expect(encodeHivePath(["city"], { city: "São Paulo" })).toBe("city=São Paulo");
  });
});

describe("fingerprintFiles", () => {
  it("depends on the set of (uri, etag) pairs, not their order", () => {
    const a = { uri: "s3://b/a", etag: "1" };
    const b = { uri: "s3://b/b", etag: "2" };
    expect(fingerprintFiles([a, b])).toBe(fingerprintFiles([b, a]));
    expect(fingerprintFiles([a, b])).not.toBe(fingerprintFiles([a, { ...b, etag: "3" }]));
    // Separators keep concatenation ambiguities apart.
    expect(fingerprintFiles([{ uri: "ab", etag: "c" }])).not.toBe(
      fingerprintFiles([{ uri: "a", etag: "bc" }]),
    );
  });

  it("refuses a missing etag instead of producing a null fingerprint", () => {
    expect(() => fingerprintFiles([{ uri: "s3://b/x", etag: "" }])).toThrow(MissingEtagError);
    expect(() => fingerprintFiles([{ uri: "s3://b/x", etag: "" }])).toThrow("s3://b/x");
  });
});
