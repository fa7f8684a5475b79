/**
 * Reads a project config file (JSON with comments allowed). Relative local paths in it are resolved against
 * the file's folder, so a config works the same from any working directory.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type ConfiguredProjectDefinition, parseConfiguredProject } from "../configured-project.js";
import { ConfigError } from "../errors.js";
import { readJsonFile } from "../json-file.js";

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

export async function loadConfigFile(path: string): Promise<ConfiguredProjectDefinition> {
  if (!existsSync(path))
    throw new ConfigError(path, [
      `no such file (${resolve(path)}): pass --config <file>, set SNAPLAKE_CONFIG, or write one with \`snaplake init\``,
    ]);
  const raw = await readJsonFile(path);
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const base = dirname(resolve(path));
    const config = raw as Record<string, unknown>;
    for (const field of URI_FIELDS) config[field] = resolveLocal(config[field], base);
    const snapshot = config.snapshot as Record<string, unknown> | undefined;
    if (snapshot && typeof snapshot === "object") {
      if ("uri" in snapshot) snapshot.uri = resolveLocal(snapshot.uri, base);
      if ("manifestUri" in snapshot) snapshot.manifestUri = resolveLocal(snapshot.manifestUri, base);
      if (Array.isArray(snapshot.allowedRoots))
        snapshot.allowedRoots = snapshot.allowedRoots.map((root) => resolveLocal(root, base));
      if ("dynamodbExport" in snapshot) snapshot.dynamodbExport = resolveLocal(snapshot.dynamodbExport, base);
      if ("rdsExport" in snapshot) snapshot.rdsExport = resolveLocal(snapshot.rdsExport, base);
    }
  }
  return parseConfiguredProject(raw, path);
}
