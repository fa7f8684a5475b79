import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config.js";
import { ConfigError } from "../../src/errors.js";

const minimal = {
  projectId: "p1",
  snapshot: { uri: "s3://b/snap/" },
  stagingUri: "s3://b/st/",
  datalakeUri: "s3://b/lake/",
};

describe("project config", () => {
  it("fills defaults and parses sizes", () => {
    const config = parseProjectConfig({
      ...minimal,
      targetParquetFileSize: "64MB",
      sortBy: ["a", { column: "b", descending: true }],
    });
    expect(config.targetParquetFileSize).toBe(64 * 1024 * 1024);
    expect(config.targetFileGroupSize).toBe(100 * 1024 * 1024);
    expect(config.compression).toBe("zstd");
    expect(config.sortBy).toEqual([
      { column: "a", descending: false },
      { column: "b", descending: true },
    ]);
    expect(config.tracker.maxAttempts).toBe(3);
  });

  it("resolves relative local locations against relativeTo, keeping URIs, absolute paths and trailing slashes", () => {
    const locations = {
      projectId: "p1",
      stagingUri: "./staging/",
      datalakeUri: "lake",
    };
    const folder = parseProjectConfig({ ...locations, snapshot: { uri: "../snap/" } }, "config", {
      relativeTo: "/work/project",
    });
    expect([folder.snapshot, folder.stagingUri, folder.datalakeUri]).toEqual([
      { uri: "/work/snap/" },
      "/work/project/staging/",
      "/work/project/lake",
    ]);
    const manifest = parseProjectConfig(
      {
        ...locations,
        snapshot: { manifestUri: "m.json", allowedRoots: ["data/", "s3://b/x/", "/abs/", "file:///f/"] },
      },
      "config",
      { relativeTo: "/work/project" },
    );
    expect(manifest.snapshot).toEqual({
      manifestUri: "/work/project/m.json",
      allowedRoots: ["/work/project/data/", "s3://b/x/", "/abs/", "file:///f/"],
    });
    for (const [snapshot, field] of [
      [{ dynamodbExport: "./export/" }, "dynamodbExport"],
      [{ rdsExport: "./rds/", table: "db.public.t" }, "rdsExport"],
    ] as const) {
      const parsed = parseProjectConfig({ ...locations, snapshot }, "config", {
        relativeTo: "/work/project",
      });
      expect((parsed.snapshot as Record<string, string>)[field]).toBe(
        `/work/project/${field === "rdsExport" ? "rds" : "export"}/`,
      );
    }
    // Without a file to be relative to, paths stay as written.
    expect(parseProjectConfig({ ...locations, snapshot: { uri: "../snap/" } }).stagingUri).toBe("./staging/");
  });

  it("names every field at fault", () => {
    const error = (() => {
      try {
        parseProjectConfig({
          ...minimal,
          projectId: "has space",
          targetFileGroupSize: "lots",
          recordIdColumn: "id",
          extra: 1,
        });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.issues.join("\n");
    expect(text).toContain("projectId");
    expect(text).toContain("targetFileGroupSize");
    expect(text).toContain("extra");
  });

  it("requires the record id and update time columns together", () => {
    expect(() => parseProjectConfig({ ...minimal, recordIdColumn: "id" })).toThrow("updateTimeColumn");
  });

  it("snapshot.allowedRoots takes s3:// URIs and local paths, next to a manifestUri only", () => {
    const manifest = { manifestUri: "s3://b/m/summary.json", allowedRoots: ["s3://other/", "/data/"] };
    expect(parseProjectConfig({ ...minimal, snapshot: manifest }).snapshot).toEqual(manifest);
    for (const snapshot of [
      { manifestUri: "s3://b/m/summary.json", allowedRoots: ["gs://other/"] },
      { uri: "s3://b/snap/", allowedRoots: ["s3://other/"] },
    ]) {
      const error = (() => {
        try {
          parseProjectConfig({ ...minimal, snapshot });
        } catch (e) {
          return e as ConfigError;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error?.message).toContain("snapshot");
    }
  });

  it("defaults to a hive table and refuses a Delta table on S3 without a log store", () => {
    expect(parseProjectConfig(minimal).table).toEqual({ format: "hive", mode: "append" });
    expect(() => parseProjectConfig({ ...minimal, table: { format: "delta" } })).toThrow(
      /table\.logStore.*log store/,
    );
    const delta = parseProjectConfig({
      ...minimal,
      table: { format: "delta", mode: "overwrite", logStore: { type: "dynamodb", tableName: "delta_log" } },
    });
    expect(delta.table).toEqual({
      format: "delta",
      mode: "overwrite",
      logStore: { type: "dynamodb", tableName: "delta_log" },
    });
    const local = { ...minimal, datalakeUri: "./lake/" };
    expect(parseProjectConfig({ ...local, table: { format: "delta" } }).table.format).toBe("delta");
    expect(() => parseProjectConfig({ ...minimal, table: { mode: "overwrite" } })).toThrow(/table\.mode/);
  });

  it("an Iceberg table on S3 needs a log store in the filesystem catalog, not in Glue; a catalog is for Iceberg only; merge is not for Iceberg", () => {
    expect(() => parseProjectConfig({ ...minimal, table: { format: "iceberg" } })).toThrow(
      /table\.logStore.*filesystem-catalog Iceberg table on S3 needs a log store/,
    );
    const glue = { type: "glue", database: "lake", name: "events" } as const;
    expect(
      parseProjectConfig({
        ...minimal,
        table: { format: "iceberg", mode: "replacePartitions", catalog: glue },
      }).table,
    ).toEqual({ format: "iceberg", mode: "replacePartitions", catalog: glue });
    const stored = { format: "iceberg", logStore: { type: "dynamodb", tableName: "delta_log" } } as const;
    expect(parseProjectConfig({ ...minimal, table: stored }).table.catalog).toBeUndefined();
    expect(() =>
      parseProjectConfig({ ...minimal, datalakeUri: "./lake/", table: { format: "delta", catalog: glue } }),
    ).toThrow(/table\.catalog.*a catalog is for format "iceberg"/);
    expect(() =>
      parseProjectConfig({
        ...minimal,
        datalakeUri: "./lake/",
        recordIdColumn: "id",
        table: { format: "iceberg", mode: "merge" },
      }),
    ).toThrow(/mode "merge" needs format "delta"/);
  });

  it("takes mode merge only for a Delta table with its key column(s), and no updateTimeColumn", () => {
    const local = { ...minimal, datalakeUri: "./lake/" };
    const merge = parseProjectConfig({
      ...local,
      table: { format: "delta", mode: "merge" },
      recordIdColumn: ["pk", "sk"],
    });
    expect(merge.table.mode).toBe("merge");
    expect(merge.recordIdColumn).toEqual(["pk", "sk"]);
    expect(
      parseProjectConfig({ ...local, table: { format: "delta", mode: "merge" }, recordIdColumn: "id" })
        .recordIdColumn,
    ).toBe("id");
    expect(() =>
      parseProjectConfig({ ...local, table: { mode: "merge" }, recordIdColumn: ["pk", "sk"] }),
    ).toThrow(/table\.mode: mode "merge" needs format "delta"/);
    expect(() => parseProjectConfig({ ...local, table: { format: "delta", mode: "merge" } })).toThrow(
      /recordIdColumn: table\.mode "merge" needs the table's key column/,
    );
    expect(() =>
      parseProjectConfig({
        ...local,
        table: { format: "delta", mode: "merge" },
        recordIdColumn: "id",
        updateTimeColumn: "updated_at",
      }),
    ).toThrow(/updateTimeColumn: .*write timestamp/);
    expect(() =>
      parseProjectConfig({ ...local, recordIdColumn: ["pk", "sk"], updateTimeColumn: "updated_at" }),
    ).toThrow(/recordIdColumn: several key columns are for table\.mode "merge"/);
  });
});
