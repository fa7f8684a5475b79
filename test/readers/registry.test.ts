/** A config file's `reader` is checked against its format's options in the registry, at parse time. */
import { describe, expect, it } from "vitest";
import { parseConfiguredProject } from "../../src/configured-project.js";
import { ConfigError } from "../../src/errors.js";

const base = { projectId: "p", snapshot: { uri: "/s/" }, stagingUri: "/st/", datalakeUri: "/lake/" };

describe("reader formats", () => {
  it("parses each format's own options, with their defaults", () => {
    expect(parseConfiguredProject({ ...base, reader: { format: "csv", separator: ";" } }).reader).toEqual({
      format: "csv",
      separator: ";",
      hasHeader: true,
    });
    expect(parseConfiguredProject({ ...base, reader: { format: "dynamodb-export" } }).reader).toEqual({
      format: "dynamodb-export",
      nested: "struct",
      mixedTypes: "error",
      binary: "base64",
      columns: {},
    });
    expect(parseConfiguredProject(base).reader).toEqual({ format: "parquet" });
  });

  it("applies a format's config defaults under the file's own values", () => {
    const snowplow = parseConfiguredProject({ ...base, reader: { format: "snowplow-enriched" } });
    expect(snowplow.config.partitionKeys).toEqual(["event_date"]);
    const own = parseConfiguredProject({
      ...base,
      partitionKeys: [],
      reader: { format: "snowplow-enriched" },
    });
    expect(own.config.partitionKeys).toEqual([]);
  });

  it("refuses an option the format doesn't have, a bad value and an unknown format, naming the field", () => {
    const refusal = (reader: unknown) => {
      try {
        parseConfiguredProject({ ...base, reader }, "snaplake.config.json");
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refusal({ format: "parquet", separator: ";" })).toMatch(/reader.*separator/);
    expect(refusal({ format: "dynamodb-export", nested: "tree" })).toMatch(/reader\.nested/);
    expect(refusal({ format: "avro" })).toMatch(/reader\.format.*dynamodb-export/);
    // A project run can't carry Binary columns (nodejs-polars 0.26.1): refused at parse time, not in step 1.3.
    expect(refusal({ format: "dynamodb-export", binary: "bytes" })).toMatch(
      /reader\.binary: .*cannot report a Binary column's type.*Keep "base64"/,
    );
  });
});
