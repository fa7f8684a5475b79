#!/usr/bin/env node
/**
 * Writes snaplake.schema.json, the config file's JSON Schema, and docs/configuration.md, the reference made
 * from it, from the zod schemas (through dist/: run `npm run build` first). test/cli/config-schema.test.ts
 * fails while the committed files differ.
 */
import { writeFileSync } from "node:fs";

const { configJsonSchema, configReferenceMarkdown } = await import("../dist/cli/config-schema.js");
writeFileSync(new URL("../snaplake.schema.json", import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
writeFileSync(new URL("../docs/configuration.md", import.meta.url), configReferenceMarkdown());
