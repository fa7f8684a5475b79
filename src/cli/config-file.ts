/**
 * Reads a project config file (JSON with comments allowed). Relative local paths in it are resolved against
 * the file's folder (the config schema's location fields do it), so a config works the same from any
 * working directory.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type ConfiguredProjectDefinition, parseConfiguredProject } from "../configured-project.js";
import { ConfigError } from "../errors.js";
import { readJsonFile } from "../json-file.js";

export async function loadConfigFile(path: string): Promise<ConfiguredProjectDefinition> {
  if (!existsSync(path))
    throw new ConfigError(path, [
      `no such file (${resolve(path)}): pass --config <file>, set SNAPLAKE_CONFIG, or write one with \`snaplake init\``,
    ]);
  return parseConfiguredProject(await readJsonFile(path), path, { relativeTo: dirname(resolve(path)) });
}
