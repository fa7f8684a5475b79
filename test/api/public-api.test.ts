/**
 * The package as a user installs it: `snaplake` and its subpaths resolve through package.json's `exports`
 * to the built files (dist/, built by `npm test`), each with what it promises, and the internals stay
 * inside. Imported by a child `node` from a folder whose node_modules/snaplake links to this package.
 */
import { execFile } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/temp-dir.js";

const SUBPATHS = ["snaplake", "snaplake/lambda", "snaplake/snowplow", "snaplake/table", "snaplake/testing"];

/** Each specifier's export names (or the error code its import fails with), imported as a user would. */
async function importAsUser(specifiers: readonly string[]): Promise<Record<string, string[] | string>> {
  const dir = tempDir("snaplake-api-");
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(resolve(import.meta.dirname, "../.."), join(dir, "node_modules", "snaplake"), "dir");
  const script = `
    const out = {};
    for (const specifier of ${JSON.stringify(specifiers)}) {
      try { out[specifier] = Object.keys(await import(specifier)).sort(); }
      catch (error) { out[specifier] = String(error.code ?? error.message); }
    }
    process.stdout.write(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

describe("the public API", () => {
  it("each subpath imports from the built package with what it is for, and no internals", async () => {
    const exports = await importAsUser([
      ...SUBPATHS,
      "snaplake/dist/aws/lambda.js",
      "snaplake/dist/index.js",
    ]);
    const names = (specifier: string) => {
      const value = exports[specifier];
      expect(Array.isArray(value), `${specifier}: ${value}`).toBe(true);
      return value as string[];
    };
    expect(names("snaplake")).toEqual(
      expect.arrayContaining([
        "Project",
        "FileFormatProject",
        "createConfiguredProject",
        "parseProjectConfig",
        "projectConfigSchema",
        "openRuntime",
        "createStorage",
        "DynamoTracker",
        "buildSnapshotManifest",
        "planSnapshotToStaging",
        "processSnapshotGroup",
        "planStagingToDatalake",
        "compactPartitionGroup",
        "validateDatalake",
        "commitRun",
        "STEP_CATALOGUE",
        "Step",
        "SnaplakeError",
        "ERROR_CATALOGUE",
        "ValidationFailedError",
        "openLakeTable",
        "openDeltaTable",
      ]),
    );
    expect(names("snaplake/lambda")).toEqual(expect.arrayContaining(["handler", "buildStateMachine"]));
    expect(names("snaplake/snowplow")).toEqual(
      expect.arrayContaining(["SnowplowEnrichedProject", "EventManifest", "SNOWPLOW_DEFAULTS"]),
    );
    expect(names("snaplake/table")).toEqual(
      expect.arrayContaining(["openLakeTable", "openDeltaTable", "commitToDeltaTable", "vacuum"]),
    );
    expect(names("snaplake/testing")).toEqual(
      expect.arrayContaining([
        "writeOrdersSnapshot",
        "writeEnrichedArchive",
        "generateDynamoDbExport",
        "generateRdsExport",
      ]),
    );
    const internals = [
      "createTrackerModels",
      "splitByPartition",
      "createReadContext",
      "readCompleteStage",
      "taskData",
    ];
    for (const specifier of SUBPATHS)
      for (const internal of internals) expect(names(specifier), specifier).not.toContain(internal);
    // The Lambda handler needs no deep path into dist/, and deep paths are closed.
    expect(exports["snaplake/dist/aws/lambda.js"]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
    expect(exports["snaplake/dist/index.js"]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});
