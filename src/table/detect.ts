/**
 * Which format a table at a URI is, from what lies under it: `_delta_log/` is a Delta table, `metadata/`
 * with a version hint or a metadata JSON is an Iceberg table (filesystem catalog), anything else a hive
 * lake (plain partition folders). For commands given a table's URI rather than a project config.
 */
import type { Storage } from "../storage/types.js";
import { asFolder, joinUri, normalizeUri } from "../storage/uri.js";
import type { LakeFormat } from "./types.js";

export async function detectTableFormat(storage: Storage, uri: string): Promise<LakeFormat> {
  const root = asFolder(normalizeUri(uri));
  if (await holdsAny(storage, joinUri(root, "_delta_log/"), (name) => /\.(json|parquet)$/.test(name)))
    return "delta";
  const iceberg = (name: string) => name === "version-hint.text" || name.endsWith(".metadata.json");
  if (await holdsAny(storage, joinUri(root, "metadata/"), iceberg)) return "iceberg";
  return "hive";
}

async function holdsAny(storage: Storage, folder: string, matches: (name: string) => boolean) {
  for await (const object of storage.listSummaries(folder)) {
    const name = object.uri.slice(object.uri.lastIndexOf("/") + 1);
    if (object.uri === joinUri(folder, name) && matches(name)) return true;
  }
  return false;
}
