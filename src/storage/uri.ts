/**
 * Object URIs: `s3://bucket/key` (also `s3a://`, `s3n://`), `file:///abs/path`, or a plain path.
 * URIs are raw strings: keys are not percent-decoded, so any character a key may hold round-trips.
 */
import { isAbsolute, resolve } from "node:path";
import { InvalidUriError } from "./errors.js";

export type ParsedUri = { scheme: "s3"; bucket: string; key: string } | { scheme: "file"; path: string };

const S3_SCHEME = /^s3[an]?:\/\//i;

export function isS3Uri(uri: string): boolean {
  return S3_SCHEME.test(uri);
}

export function parseUri(uri: string): ParsedUri {
  if (isS3Uri(uri)) {
    const rest = uri.replace(S3_SCHEME, "");
    const slash = rest.indexOf("/");
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!bucket) throw new InvalidUriError(uri, "missing bucket name");
    return { scheme: "s3", bucket, key: slash === -1 ? "" : rest.slice(slash + 1) };
  }
  if (uri.startsWith("file://")) {
    const path = uri.slice("file://".length);
    if (!path.startsWith("/")) throw new InvalidUriError(uri, "file:// URIs must hold an absolute path");
    return { scheme: "file", path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri))
    throw new InvalidUriError(uri, "unsupported scheme (use s3:// or a local path)");
  if (!uri) throw new InvalidUriError(uri, "empty");
  return { scheme: "file", path: isAbsolute(uri) ? uri : resolve(uri) };
}

/** The canonical form: `s3://bucket/key` or `file:///abs/path`. A trailing slash is kept. */
export function normalizeUri(uri: string): string {
  const parsed = parseUri(uri);
  if (parsed.scheme === "s3") return `s3://${parsed.bucket}/${parsed.key}`;
  const trailing = uri.endsWith("/") && !parsed.path.endsWith("/") ? "/" : "";
  return `file://${parsed.path}${trailing}`;
}

/** Appends a trailing slash if missing: the URI of a folder. */
export function asFolder(uri: string): string {
  return uri.endsWith("/") ? uri : `${uri}/`;
}

/**
 * Joins relative key parts under a base URI. Parts may contain "/" but never "." or ".." segments
 * nor start with "/", so a key derived from data can't climb out of the base.
 */
export function joinUri(base: string, ...parts: string[]): string {
  let out = base;
  for (const part of parts) {
    if (part === "") continue;
    if (part.startsWith("/")) throw new InvalidUriError(part, "a key part may not be absolute");
    if (part.split("/").some((segment) => segment === "." || segment === "..")) {
      throw new InvalidUriError(part, 'a key part may not contain "." or ".." segments');
    }
    out = asFolder(out) + part;
  }
  return out;
}

/** The key of `uri` relative to folder `base` (both normalized), or throws when it is not under it. */
export function relativeKey(base: string, uri: string): string {
  const folder = asFolder(base);
  if (!uri.startsWith(folder)) throw new InvalidUriError(uri, `not under ${folder}`);
  return uri.slice(folder.length);
}

/** The last path segment of a URI ("part-0001.parquet"). */
export function baseName(uri: string): string {
  const trimmed = uri.endsWith("/") ? uri.slice(0, -1) : uri;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The folder containing `uri`, with a trailing slash. */
export function parentFolder(uri: string): string {
  const trimmed = uri.endsWith("/") ? uri.slice(0, -1) : uri;
  return trimmed.slice(0, trimmed.lastIndexOf("/") + 1);
}

const CONTENT_TYPES: Array<[RegExp, string]> = [
  [/\.parquet$/i, "application/vnd.apache.parquet"],
  [/\.json$/i, "application/json"],
  [/\.(ndjson|jsonl)$/i, "application/x-ndjson"],
  [/\.tsv$/i, "text/tab-separated-values"],
  [/\.csv$/i, "text/csv"],
  [/\.(gz|gzip)$/i, "application/gzip"],
  [/\.txt$/i, "text/plain"],
];

export function contentTypeFor(uri: string): string {
  for (const [pattern, type] of CONTENT_TYPES) if (pattern.test(uri)) return type;
  return "application/octet-stream";
}
