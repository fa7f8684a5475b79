/**
 * `snaplake.schema.json`: the config file's JSON Schema, generated from the zod schemas that parse it (the
 * project config, every reader format's options, derived columns), so editors validate and complete config
 * files. Checks zod can't express in JSON Schema (a valid regular expression, URIs that don't overlap) stay
 * with the parser; the schema is the shape. Written by scripts/write-config-schema.mjs, compared with the
 * committed file by test/cli/config-schema.test.ts.
 */
import { z } from "zod";
import { projectConfigSchema } from "../config.js";
import { derivedColumnSpecSchema } from "../configured-project.js";
import { READER_FORMAT_NAMES, READER_FORMATS } from "../readers/registry.js";

/** What each `reader.format` reads, for editors (the options describe themselves). */
const READER_DESCRIPTIONS: Record<(typeof READER_FORMAT_NAMES)[number], string> = {
  parquet: "Parquet files.",
  csv: "CSV files (any separator), plain or gzip.",
  ndjson: "Newline-delimited JSON files, plain or gzip.",
  auto: "Per file by its extension: .parquet, .csv, .tsv, .ndjson or .jsonl, each maybe .gz (the CSV options apply to CSV files).",
  "dynamodb-export": "A DynamoDB export's items, DYNAMODB_JSON or ION (snapshot.dynamodbExport).",
  "snowplow-enriched": "Snowplow enriched events: the 131-field TSV, typed, bad lines kept as bad rows.",
};

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const asJsonSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
};

export function configJsonSchema(): JsonSchema {
  const project = asJsonSchema(projectConfigSchema);
  const readers = READER_FORMAT_NAMES.map((name) => {
    const options = asJsonSchema(READER_FORMATS[name].options);
    return {
      ...options,
      properties: { format: { const: name, description: READER_DESCRIPTIONS[name] }, ...options.properties },
      required: ["format", ...(options.required ?? [])],
    };
  });
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/snaplake/snaplake/snaplake.schema.json",
    title: "snaplake project configuration",
    description:
      "A snaplake config file (snaplake.config.jsonc): see `snaplake init` for every field with comments.",
    ...project,
    properties: {
      $schema: { type: "string", description: "This schema's location, for editors." },
      ...project.properties,
      reader: { description: "How to read the snapshot's files: a format and its options.", oneOf: readers },
      derivedColumns: {
        type: "array",
        description:
          "Columns computed after reading, before partitioning (strftime of a time column, or a string copy).",
        items: asJsonSchema(derivedColumnSpecSchema),
      },
    },
  };
}
