import { createHash } from "node:crypto";
import { SnaplakeError } from "../errors.js";

export interface FingerprintInput {
  uri: string;
  etag: string;
}

export class MissingEtagError extends SnaplakeError {
  constructor(uri: string) {
    super(
      "MISSING_ETAG",
      `${uri} has no etag: a fingerprint needs every file's etag (list it again, or fill "etag" in the manifest)`,
    );
  }
}

/**
 * A content fingerprint of a set of files: SHA-256 over the (uri, etag) pairs sorted by uri, as 32 hex
 * characters. A missing etag is an error, never a null fingerprint (dbsnaplake's silent overwrite).
 */
export function fingerprintFiles(files: readonly FingerprintInput[]): string {
  const byUri = (a: FingerprintInput, b: FingerprintInput) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0);
  // Groups and listings usually arrive sorted already: check in one pass before paying for a sort.
  const inOrder = files.every((file, i) => i === 0 || byUri(files[i - 1]!, file) <= 0);
  const sorted = inOrder ? files : [...files].sort(byUri);
  const parts: string[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const file = sorted[i]!;
    if (!file.etag) throw new MissingEtagError(file.uri);
    // Separators keep ("ab","c") and ("a","bc") apart.
    parts[i] = `${file.uri}\t${file.etag}\n`;
  }
  return createHash("sha256").update(parts.join("")).digest("hex").slice(0, 32);
}

/** A short stable hash of any text (used for derived ids). */
export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
