/**
 * JSON documents written by users (project configs, storage and resolver configs): comments and trailing
 * commas are allowed, and a syntax error names the line but never quotes the text, which may hold a secret.
 */
import { readFile } from "node:fs/promises";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";
import { ConfigError } from "./errors.js";

export function parseJsonText(text: string, source: string): unknown {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const issues = errors.map((e) => {
      const line = text.slice(0, e.offset).split("\n").length;
      return `not valid JSON at line ${line} (${printParseErrorCode(e.error)})`;
    });
    throw new ConfigError(source, [...new Set(issues)]);
  }
  return value;
}

/** Reads a file as text; a missing or unreadable file is a ConfigError naming it. */
async function readText(path: string, source = path): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(source, [
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
}

export async function readJsonFile(path: string, source = path): Promise<unknown> {
  return parseJsonText(await readText(path, source), source);
}
