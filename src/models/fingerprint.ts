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

/** Text is hashed in pieces of about this many characters: a million files never become one huge string. */
const HASH_CHUNK_CHARS = 1 << 15;

/**
 * A content fingerprint of a set of files: SHA-256 over the (uri, etag) pairs sorted by uri, as 32 hex
 * characters. A missing etag is an error, never a null fingerprint (dbsnaplake's silent overwrite).
 */
export function fingerprintFiles(files: readonly FingerprintInput[]): string {
  // Groups and listings usually arrive sorted already: check in one pass before paying for a sort.
  const sorted = inUriOrder(files) ? files : [...files].sort(byUri);
  const hash = createHash("sha256");
  let text = "";
  for (let i = 0; i < sorted.length; i++) {
    const file = sorted[i]!;
    if (!file.etag) throw new MissingEtagError(file.uri);
    // Separators keep ("ab","c") and ("a","bc") apart.
    text += `${file.uri}\t${file.etag}\n`;
    if (text.length >= HASH_CHUNK_CHARS) {
      hash.update(text);
      text = "";
    }
  }
  return hash.update(text).digest("hex").slice(0, 32);
}

function byUri(a: FingerprintInput, b: FingerprintInput): number {
  return a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0;
}

function inUriOrder(files: readonly FingerprintInput[]): boolean {
  for (let i = 1; i < files.length; i++) if (files[i - 1]!.uri > files[i]!.uri) return false;
  return true;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
