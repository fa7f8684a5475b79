/**
 * Hive-style partition paths (`k1=v1/k2=v2`), escaped exactly as Hive's FileUtils.escapePathName does,
 * so Spark, Athena, Trino, DuckDB and Polars read the values back unchanged.
 */

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
