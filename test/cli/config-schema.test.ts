/**
 * snaplake.schema.json: generated from the zod schemas and committed. The committed file is what the
 * generator writes now; it validates the config `snaplake init` writes (a JSON-schema validator, ajv, not
 * zod) and refuses a misspelt field, as the parser does.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { configJsonSchema, configReferenceMarkdown } from "../../src/cli/config-schema.js";
import { snaplake } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const schemaFile = fileURLToPath(new URL("../../snaplake.schema.json", import.meta.url));

/** Every property of the schema, wherever it is nested (variants, arrays, records), by its dotted path. */
function propertiesOf(node: unknown, path = ""): Array<{ path: string; schema: Record<string, unknown> }> {
  if (Array.isArray(node)) return node.flatMap((item) => propertiesOf(item, path));
  if (typeof node !== "object" || node === null) return [];
  const found: Array<{ path: string; schema: Record<string, unknown> }> = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" && typeof value === "object" && value !== null) {
      for (const [name, schema] of Object.entries(value)) {
        const at = path ? `${path}.${name}` : name;
        found.push({ path: at, schema: schema as Record<string, unknown> }, ...propertiesOf(schema, at));
      }
    } else {
      found.push(...propertiesOf(value, path));
    }
  }
  return found;
}

describe("snaplake.schema.json", () => {
  it("is what the generator writes from the zod schemas (run scripts/write-config-schema.mjs after changing them)", () => {
    expect(JSON.parse(readFileSync(schemaFile, "utf8"))).toEqual(configJsonSchema());
  });

  it("docs/configuration.md is the reference the generator writes from it (run scripts/write-config-schema.mjs)", () => {
    const reference = readFileSync(
      fileURLToPath(new URL("../../docs/configuration.md", import.meta.url)),
      "utf8",
    );
    expect(reference).toBe(configReferenceMarkdown(JSON.parse(readFileSync(schemaFile, "utf8"))));
    // Every field of every block is in it, under its block's heading.
    expect(reference).toContain("| `projectId` | string | required |");
    expect(reference).toMatch(/## table\.logStore[\s\S]*`type: "conditional-put"`/);
    expect(reference).toMatch(/## reader[\s\S]*`format: "csv"`[\s\S]*\| `tryParseDates` \| boolean \|/);
  });

  it("describes every field, so editors show what it does (top level, snapshot, reader, table, aws and the rest)", () => {
    const properties = propertiesOf(JSON.parse(readFileSync(schemaFile, "utf8")));
    const undescribed = properties
      .filter(({ schema }) => typeof schema.description !== "string" || schema.description.trim() === "")
      .map(({ path }) => path);
    expect(undescribed).toEqual([]);
    // The walk reaches into each block the brief names (each reader format's options, each snapshot source).
    const paths = new Set(properties.map(({ path }) => path));
    for (const field of [
      "projectId",
      "snapshot.uri",
      "snapshot.include",
      "snapshot.manifestUri",
      "snapshot.dynamodbExport",
      "snapshot.rdsExport",
      "reader.format",
      "reader.separator",
      "reader.mixedTypes",
      "reader.eventManifestTable",
      "table.format",
      "table.mode",
      "table.logStore.tableName",
      "aws.region",
      "aws.s3Endpoint",
      "tracker.leaseSeconds",
      "derivedColumns.from",
    ]) {
      expect(paths, field).toContain(field);
    }
  });

  it("validates the config snaplake init writes, and refuses a misspelt field or a reader option of another format", async () => {
    const dir = tempDir("snaplake-schema-");
    const file = join(dir, "snaplake.config.jsonc");
    expect((await snaplake(["init", "--output", file])).code).toBe(0);
    const config = parse(readFileSync(file, "utf8"));
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(
      JSON.parse(readFileSync(schemaFile, "utf8")),
    );
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    // Pointing an editor at the schema is allowed, by the schema and by snaplake.
    const withSchema = { $schema: "./node_modules/snaplake/snaplake.schema.json", ...config };
    expect(validate(withSchema)).toBe(true);
    writeFileSync(file, JSON.stringify(withSchema));
    const status = await snaplake(["status", "--config", file, "--json"]);
    expect(status.code, status.stderr).toBe(0);

    const { partitionKeys, ...rest } = config;
    expect(validate({ ...rest, partitonKeys: partitionKeys })).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        keyword: "additionalProperties",
        params: { additionalProperty: "partitonKeys" },
      }),
    );
    expect(validate({ ...config, reader: { format: "parquet", separator: ";" } })).toBe(false);
    expect(validate({ ...config, reader: { format: "csv", separator: ";" } })).toBe(true);
  });
});
