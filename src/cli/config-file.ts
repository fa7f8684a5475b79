/**
 * Reads a project config file (JSON with comments allowed). Relative local paths in it are resolved against
 * the file's folder, so a config works the same from any working directory.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";
import { type ConfiguredProjectDefinition, parseConfiguredProject } from "../configured-project.js";
import { ConfigError } from "../errors.js";

const URI_FIELDS = ["stagingUri", "datalakeUri"] as const;

function resolveLocal(value: unknown, base: string): unknown {
  if (
    typeof value !== "string" ||
    value === "" ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ||
    isAbsolute(value)
  )
    return value;
  return resolve(base, value) + (value.endsWith("/") ? "/" : "");
}

export function parseConfigText(text: string, path: string): ConfiguredProjectDefinition {
  const errors: ParseError[] = [];
  const raw = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const issues = errors.map((e) => {
      const line = text.slice(0, e.offset).split("\n").length;
      return `line ${line}: ${printParseErrorCode(e.error)}`;
    });
    throw new ConfigError(path, issues);
  }
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const base = dirname(resolve(path));
    const config = raw as Record<string, unknown>;
    for (const field of URI_FIELDS) config[field] = resolveLocal(config[field], base);
    const snapshot = config.snapshot as Record<string, unknown> | undefined;
    if (snapshot && typeof snapshot === "object") {
      if ("uri" in snapshot) snapshot.uri = resolveLocal(snapshot.uri, base);
      if ("manifestUri" in snapshot) snapshot.manifestUri = resolveLocal(snapshot.manifestUri, base);
    }
  }
  return parseConfiguredProject(raw, path);
}

export async function loadConfigFile(path: string): Promise<ConfiguredProjectDefinition> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
  return parseConfigText(text, path);
}
