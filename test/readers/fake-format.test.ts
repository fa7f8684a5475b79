/**
 * A reader format a program adds reads like a built-in one: this file defines "key-value-lines" and
 * registers it with `registerReaderFormat`, and nothing else changes. A config file naming it is parsed
 * against its options and runs through the real runtime (local folders, the embedded tracker on dynalite)
 * into the lake.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfigFile } from "../../src/cli/config-file.js";
import { createConfiguredProject, parseConfiguredProject } from "../../src/configured-project.js";
import { ConfigError } from "../../src/errors.js";
import { type ReaderFormat, registerReaderFormat } from "../../src/readers/registry.js";
import { openRuntime } from "../../src/runtime.js";
import { tempDir } from "../support/temp-dir.js";

const keyValueOptions = z.object({ separator: z.string().length(1).default("=") }).strict();

/** Lines of `key<separator>value` pairs split by spaces, e.g. `id=1 amount=10`: every value an Int64. */
const keyValueLines: ReaderFormat<typeof keyValueOptions> = {
  description: "Lines of key=value pairs (a test's format).",
  options: keyValueOptions,
  reader:
    ({ separator }) =>
    (_group, context) =>
      context.readEach((bytes) => {
        const rows = bytes
          .toString("utf8")
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) =>
            Object.fromEntries(
              line
                .trim()
                .split(/\s+/)
                .map((pair) => pair.split(separator))
                .map(([key, value]) => [key, Number(value)]),
            ),
          );
        return pl.readRecords(rows).select(pl.all().cast(pl.Int64));
      }),
};

const unregister = registerReaderFormat("key-value-lines", keyValueLines);
afterAll(unregister);

const base = { projectId: "p", snapshot: { uri: "/s/" }, stagingUri: "/st/", datalakeUri: "/lake/" };

function refusal(input: unknown): string {
  try {
    parseConfiguredProject(input, "snaplake.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("accepted");
}

describe("a registered reader format", () => {
  it("is parsed against its own options, with their defaults, and listed when a format is unknown", () => {
    expect(parseConfiguredProject({ ...base, reader: { format: "key-value-lines" } }).reader).toEqual({
      format: "key-value-lines",
      separator: "=",
    });
    expect(refusal({ ...base, reader: { format: "key-value-lines", separator: "==" } })).toMatch(
      /reader\.separator/,
    );
    expect(refusal({ ...base, reader: { format: "xml" } })).toMatch(
      /reader\.format: no reader format "xml": use one of parquet, .*snowplow-enriched, key-value-lines/,
    );
  });

  it("can't take a name in use, nor be parsed once removed", () => {
    expect(() => registerReaderFormat("csv", keyValueLines)).toThrow(/"csv" exists already/);
    const remove = registerReaderFormat("key-value-lines-2", keyValueLines);
    expect(parseConfiguredProject({ ...base, reader: { format: "key-value-lines-2" } }).reader.format).toBe(
      "key-value-lines-2",
    );
    remove();
    expect(refusal({ ...base, reader: { format: "key-value-lines-2" } })).toMatch(/no reader format/);
  });

  it("runs a config file's project through the runtime into the lake", async () => {
    const dir = tempDir("snaplake-fake-format-");
    mkdirSync(join(dir, "snap"));
    writeFileSync(join(dir, "snap", "a.txt"), "id:1 amount:10 day:1\nid:2 amount:20 day:1\n");
    writeFileSync(join(dir, "snap", "b.txt"), "id:3 amount:30 day:2\n");
    const config = {
      projectId: "fake-format",
      snapshot: { uri: "./snap/" },
      stagingUri: "./staging/",
      datalakeUri: "./lake/",
      partitionKeys: ["day"],
      sortBy: ["id"],
      reader: { format: "key-value-lines", separator: ":" },
    };
    writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));

    const definition = await loadConfigFile(join(dir, "snaplake.config.json"));
    const runtime = await openRuntime(definition.config, { stateDir: join(dir, "state") });
    try {
      const summary = await createConfiguredProject(definition, runtime).runAll();
      expect(summary.validation.ok).toBe(true);
    } finally {
      await runtime.close();
    }
    const lake = pl
      .scanParquet(join(dir, "lake/"), { hivePartitioning: true })
      .collectSync()
      .sort("id")
      .select(pl.col("id"), pl.col("amount"), pl.col("day").cast(pl.Utf8));
    expect(lake.toRecords()).toEqual([
      { id: 1, amount: 10, day: "1" },
      { id: 2, amount: 20, day: "1" },
      { id: 3, amount: 30, day: "2" },
    ]);
  });
});
