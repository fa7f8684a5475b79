// A namespace import: crypto.hash is missing before Node 20.12 and a named import of it would not load.
import * as crypto from "node:crypto";
import { Worker } from "node:worker_threads";
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
  let hash: crypto.Hash | undefined;
  let text = "";
  for (let i = 0; i < sorted.length; i++) {
    const file = sorted[i]!;
    if (!file.etag) throw new MissingEtagError(file.uri);
    // Separators keep ("ab","c") and ("a","bc") apart.
    text += `${file.uri}\t${file.etag}\n`;
    if (text.length >= HASH_CHUNK_CHARS) {
      hash ??= crypto.createHash("sha256");
      hash.update(text);
      text = "";
    }
  }
  return (hash ? hash.update(text).digest("hex") : sha256Hex(text)).slice(0, 32);
}

/** The rows of a string column as UTF-8: row i is bytes[offsets[i]] up to bytes[offsets[i + 1]]. */
export interface Utf8Column {
  bytes: Uint8Array;
  offsets: Int32Array;
}

/**
 * fingerprintFiles of files whose uris and etags are already encoded as UTF-8 (the same bytes
 * fingerprintFiles hashes), on a worker thread so the caller keeps working meanwhile: writing a
 * manifest of a million files hides the ~0.5 s of hashing behind the Parquet write. `order` lists the
 * rows in uri order, as uriOrder gives it. Every etag must be non-empty (fingerprintFiles checks that).
 */
export function fingerprintEncodedFiles(
  uris: Utf8Column,
  etags: Utf8Column,
  order: Uint32Array | null,
): Promise<string> {
  return new Promise((resolve, reject) => {
    // Source text, not a module file: the same code runs from src/ (tsx, vitest) and from dist/.
    const worker = new Worker(FINGERPRINT_WORKER, { eval: true, workerData: { uris, etags, order } });
    worker.once("message", (fingerprint: string) => resolve(fingerprint));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`fingerprint worker exited with code ${code}`)));
  });
}

const FINGERPRINT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { uris, etags, order } = workerData;
const hash = createHash("sha256");
const chunk = Buffer.allocUnsafe(1 << 16);
let used = 0;
function put(bytes, start, end) {
  while (start < end) {
    if (used === chunk.length) { hash.update(chunk); used = 0; }
    const n = Math.min(end - start, chunk.length - used);
    chunk.set(bytes.subarray(start, start + n), used);
    used += n;
    start += n;
  }
}
function putByte(byte) {
  if (used === chunk.length) { hash.update(chunk); used = 0; }
  chunk[used++] = byte;
}
const rows = uris.offsets.length - 1;
for (let k = 0; k < rows; k++) {
  const i = order ? order[k] : k;
  put(uris.bytes, uris.offsets[i], uris.offsets[i + 1]);
  putByte(9); // \t
  put(etags.bytes, etags.offsets[i], etags.offsets[i + 1]);
  putByte(10); // \n
}
hash.update(chunk.subarray(0, used));
parentPort.postMessage(hash.digest("hex").slice(0, 32));
`;

/** The files' positions in uri order (equal uris in input order), or null when they are in order already. */
export function uriOrder(files: readonly FingerprintInput[]): Uint32Array | null {
  if (inUriOrder(files)) return null;
  return Uint32Array.from(Array.from(files.keys()).sort((a, b) => byUri(files[a]!, files[b]!)));
}

function byUri(a: FingerprintInput, b: FingerprintInput): number {
  return a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0;
}

function inUriOrder(files: readonly FingerprintInput[]): boolean {
  for (let i = 1; i < files.length; i++) if (files[i - 1]!.uri > files[i]!.uri) return false;
  return true;
}

/** One-shot crypto.hash (Node >= 20.12) skips a Hash object per call; planning hashes one text per group. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === "function"
    ? (text) => crypto.hash("sha256", text, "hex")
    : (text) => crypto.createHash("sha256").update(text).digest("hex");

/** A short stable hash of any text (used for derived ids). */
export function hashText(text: string): string {
  return sha256Hex(text).slice(0, 32);
}
