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
import { BUILT_IN_READER_FORMATS } from "../readers/registry.js";

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
  // The built-in formats: the CLI's config files can name no other.
  const readers = Object.entries(BUILT_IN_READER_FORMATS).map(([name, format]) => {
    const options = asJsonSchema(format.options);
    return {
      ...options,
      properties: { format: { const: name, description: format.description }, ...options.properties },
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

type Node = Record<string, unknown> & {
  properties?: Record<string, Node>;
  anyOf?: Node[];
  oneOf?: Node[];
  items?: Node;
  additionalProperties?: Node | boolean;
  required?: string[];
};

/** A schema's type in a few words, for the reference's tables. */
function typeText(schema: Node): string {
  if ("const" in schema) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum))
    return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(" or ");
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return [...new Set(variants.map(typeText))].join(" or ");
  if (schema.type === "array") return `list of ${schema.items ? typeText(schema.items) : "values"}`;
  if (schema.type === "object" && schema.properties) return "object";
  if (schema.type === "object" && typeof schema.additionalProperties === "object") {
    return `map of ${typeText(schema.additionalProperties)}`;
  }
  return typeof schema.type === "string" ? schema.type : "any";
}

const cell = (text: string) =>
  text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\n", " ");

/** The objects a field holds (its variants, list items or map values), each with its properties. */
function objectsIn(schema: Node): Node[] {
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return variants.flatMap(objectsIn);
  if (schema.items) return objectsIn(schema.items);
  if (typeof schema.additionalProperties === "object") return objectsIn(schema.additionalProperties);
  return schema.properties ? [schema] : [];
}

function fieldTable(object: Node): string[] {
  const required = new Set(object.required ?? []);
  return [
    "| field | type | default | what it does |",
    "|---|---|---|---|",
    ...Object.entries(object.properties ?? {}).map(([name, field]) => {
      const fallback =
        "default" in field ? `\`${JSON.stringify(field.default)}\`` : required.has(name) ? "required" : "";
      return `| \`${name}\` | ${cell(typeText(field))} | ${cell(fallback)} | ${cell(String(field.description ?? ""))} |`;
    }),
  ];
}

function fieldSections(path: string, object: Node): string[] {
  const lines: string[] = [];
  for (const [name, field] of Object.entries(object.properties ?? {})) {
    const objects = objectsIn(field);
    if (objects.length === 0) continue;
    const at = path ? `${path}.${name}` : name;
    lines.push("", `## ${at}`, "", String(field.description ?? ""));
    for (const variant of objects) {
      // A variant is named by its discriminator (reader.format, logStore.type), else by its description.
      const tag = Object.entries(variant.properties ?? {}).find(([, property]) => "const" in property);
      const title =
        objects.length === 1
          ? undefined
          : tag
            ? `\`${tag[0]}: ${JSON.stringify(tag[1].const)}\`: ${String(tag[1].description ?? "")}`
            : String(variant.description ?? "");
      if (title) lines.push("", `**${title.replaceAll("*", "\\*")}**`);
      lines.push("", ...fieldTable(variant));
    }
    for (const variant of objects) lines.push(...fieldSections(at, variant));
  }
  return lines;
}

/**
 * docs/configuration.md: every field of the config file with its type, default and description, from the
 * same JSON Schema (so the reference, the schema and the parser can't disagree). Written with the schema by
 * scripts/write-config-schema.mjs.
 */
export function configReferenceMarkdown(schema: Node = configJsonSchema() as Node): string {
  const top = {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(schema.properties ?? {}).filter(([name]) => name !== "$schema"),
    ),
  };
  return [
    "# Configuration reference",
    "",
    "<!-- Generated from the zod schemas by `npm run schema`; test/cli/config-schema.test.ts fails until it is. -->",
    "",
    "A config file is JSON with comments (`snaplake.config.jsonc`; `snaplake init` writes one with every field",
    "commented). Relative paths are resolved against the file's folder. Editors validate and complete it with",
    "the JSON Schema [snaplake.schema.json](../snaplake.schema.json): put",
    '`"$schema": "./node_modules/snaplake/snaplake.schema.json"` at the top. Sizes take a byte count or a text',
    'such as `"128MB"`.',
    "",
    "## Top level",
    "",
    ...fieldTable(top),
    ...fieldSections("", top),
    "",
  ].join("\n");
}
