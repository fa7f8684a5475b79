#!/usr/bin/env node
/**
 * Rewrites the README's table of error codes from the catalogue in src/errors.ts (through dist/: run
 * `npm run build` first). test/errors.test.ts fails while the README and the catalogue differ.
 */
import { readFileSync, writeFileSync } from "node:fs";

const { errorCatalogueMarkdown } = await import("../dist/errors.js");
const readme = new URL("../README.md", import.meta.url);
const text = readFileSync(readme, "utf8");
const begin = "<!-- error-codes:begin -->";
const end = "<!-- error-codes:end -->";
const from = text.indexOf(begin);
const to = text.indexOf(end);
if (from < 0 || to < from) throw new Error(`README.md has no ${begin} ... ${end} block`);
writeFileSync(readme, `${text.slice(0, from + begin.length)}\n${errorCatalogueMarkdown()}\n${text.slice(to)}`);
