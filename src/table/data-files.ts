/** Where a run's data file sits in a table: checked to lie under the root, in its partition's Hive folder. */
import { decodeHivePath, type PartitionValues } from "../models/hive.js";
import { asFolder, normalizeUri, parentFolder, relativeKey } from "../storage/uri.js";

export interface LocatedDataFile {
  uri: string;
  /** The path below the table root, e.g. `day=2024-06-01/part-00001.parquet`. */
  relative: string;
  partitionValues: PartitionValues;
}

/**
 * Checks that `given` lies under `tableUri`, outside hidden folders, in a folder naming exactly the table's
 * partition columns. `invalid` builds the format's own error from a message.
 */
export function locateDataFile(
  tableUri: string,
  given: string,
  partitionColumns: readonly string[],
  invalid: (message: string) => Error,
  formatName: string,
): LocatedDataFile {
  const root = asFolder(normalizeUri(tableUri).replace(/\/+$/, ""));
  const uri = normalizeUri(given);
  if (!uri.startsWith(root)) throw invalid(`${given} is not under the ${formatName} table root ${root}`);
  const relative = relativeKey(root, uri);
  if (relative.split("/").some((segment) => segment.startsWith("_") || segment.startsWith("."))) {
    throw invalid(`${uri}: data files may not lie in hidden folders (names starting with _ or .)`);
  }
  const folder = relativeKey(root, parentFolder(uri) === root ? root : parentFolder(uri));
  const partitionValues = decodeHivePath(folder);
  const keys = Object.keys(partitionValues);
  if (
    keys.length !== partitionColumns.length ||
    partitionColumns.some((column) => !(column in partitionValues))
  ) {
    throw invalid(
      `${uri} lies in folder "${folder}", whose partition keys (${keys.join(", ") || "none"}) are not the ` +
        `table's partition columns (${partitionColumns.join(", ") || "none"})`,
    );
  }
  return { uri, relative, partitionValues };
}
