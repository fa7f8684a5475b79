/**
 * Hive-style partition paths (`k1=v1/k2=v2`), escaped exactly as Hive's FileUtils.escapePathName does,
 * so Spark, Athena, Trino, DuckDB and Polars read the values back unchanged.
 */

import { SnaplakeError } from "../errors.js";
import { parseUri } from "../storage/uri.js";

export const HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__";

export type PartitionValues = Record<string, string | null>;

// Characters Hive escapes in partition names and values, plus control characters.
const UNSAFE = new Set(['"', "#", "%", "'", "*", "/", ":", "=", "?", "\\", "\x7F", "{", "[", "]", "^"]);

export function escapeHivePathComponent(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || UNSAFE.has(char) ? `%${code.toString(16).toUpperCase().padStart(2, "0")}` : char;
  }
  return out;
}

export function unescapeHivePathComponent(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** `{year: "2021", month: null}` -> `year=2021/month=__HIVE_DEFAULT_PARTITION__`, keys in the given order. */
export function encodeHivePath(keys: readonly string[], values: PartitionValues): string {
  return keys
    .map((key) => {
      const value = values[key];
      const encoded =
        value === null || value === undefined || value === ""
          ? HIVE_DEFAULT_PARTITION
          : escapeHivePathComponent(value);
      return `${escapeHivePathComponent(key)}=${encoded}`;
    })
    .join("/");
}

/** Parses the `k=v` segments of a relative path; other segments are ignored. */
export function decodeHivePath(path: string): PartitionValues {
  const values: PartitionValues = {};
  for (const segment of path.split("/")) {
    const eq = segment.indexOf("=");
    if (eq <= 0) continue;
    const value = segment.slice(eq + 1);
    values[unescapeHivePathComponent(segment.slice(0, eq))] =
      value === HIVE_DEFAULT_PARTITION ? null : unescapeHivePathComponent(value);
  }
  return values;
}

/**
 * The value a partition folder holds: null for a null, an empty string or the default-partition literal,
 * since all three are written as `k=__HIVE_DEFAULT_PARTITION__` and read back as null (as in Hive).
 */
export function partitionFolderValue(value: string | null | undefined): string | null {
  return value === null || value === undefined || value === "" || value === HIVE_DEFAULT_PARTITION
    ? null
    : value;
}

/** Longest file or folder name, in bytes, on common local filesystems (ext4, XFS, APFS, NTFS). */
export const MAX_PATH_SEGMENT_BYTES = 255;
/** Longest S3 object key, in bytes. */
export const MAX_S3_KEY_BYTES = 1024;

export class PartitionPathTooLongError extends SnaplakeError {
  readonly column: string;
  constructor(column: string, value: string, problem: string) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    super(
      "PARTITION_VALUE_TOO_LONG",
      `Partition column "${column}" has a value ("${shown}", ${Buffer.byteLength(value)} bytes) ${problem}; shorten or hash it in a derived column`,
    );
    this.column = column;
  }
}

/**
 * Throws `PartitionPathTooLongError` when a partition's folder name (`k=escaped value`) is too long for a
 * file name, or when `uris` (the files to be written under it) exceed the S3 key limit.
 */
export function checkPartitionPathFits(
  keys: readonly string[],
  values: PartitionValues,
  uris: readonly string[] = [],
): void {
  const longest = { column: "", value: "", bytes: -1 };
  for (const key of keys) {
    const value = values[key] ?? "";
    const segment = encodeHivePath([key], { [key]: value });
    const bytes = Buffer.byteLength(segment);
    if (bytes > MAX_PATH_SEGMENT_BYTES) {
      throw new PartitionPathTooLongError(
        key,
        value,
        `whose folder name is ${bytes} bytes once escaped, over the ${MAX_PATH_SEGMENT_BYTES}-byte limit of a file name`,
      );
    }
    if (bytes > longest.bytes) Object.assign(longest, { column: key, value, bytes });
  }
  for (const uri of uris) {
    const parsed = parseUri(uri);
    if (parsed.scheme !== "s3") continue;
    const bytes = Buffer.byteLength(parsed.key);
    if (bytes > MAX_S3_KEY_BYTES) {
      throw new PartitionPathTooLongError(
        longest.column,
        longest.value,
        `that makes the key ${uri.slice(0, 80)}... ${bytes} bytes long, over S3's ${MAX_S3_KEY_BYTES}-byte limit`,
      );
    }
  }
}
