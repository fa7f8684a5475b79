/** gzip, recognised by its magic bytes whatever the file is called, and inflated off the event loop. */
import { pipeline, Readable } from "node:stream";
import { promisify } from "node:util";
import { createGunzip, gunzip, gunzipSync } from "node:zlib";

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const MIN_INFLATE_CHUNK = 64 * 1024;
const MAX_INFLATE_CHUNK = 64 * 1024 * 1024;

/**
 * zlib's output chunk size for inflating `gzip` at once: the inflated size its trailer records (ISIZE, the
 * size mod 2^32 of the last member: a hint, never trusted for the output), within bounds. zlib's default of
 * 16 KiB means one thread-pool round trip and one JavaScript callback per 16 KiB: 750 of them for a 12 MB
 * part file, about three times the CPU of the inflation itself.
 */
function inflateChunkSize(gzip: Buffer): number {
  const inflatedSize = gzip.length >= 4 ? gzip.readUInt32LE(gzip.length - 4) : 0;
  return Math.min(Math.max(inflatedSize, MIN_INFLATE_CHUNK), MAX_INFLATE_CHUNK);
}

/** The bytes, gunzipped on libuv's thread pool when they are gzip (so several files inflate at once). */
export async function inflateIfGzip(bytes: Buffer): Promise<Buffer> {
  return isGzip(bytes) ? gunzipAsync(bytes, { chunkSize: inflateChunkSize(bytes) }) : bytes;
}

/** `inflateIfGzip` on the calling thread. */
export function inflateIfGzipSync(bytes: Buffer): Buffer {
  return isGzip(bytes) ? gunzipSync(bytes, { chunkSize: inflateChunkSize(bytes) }) : bytes;
}

/** A byte stream, gunzipped when its first two bytes are the gzip magic (which may come in two chunks). */
export async function inflateStreamIfGzip(input: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Buffer>> {
  const chunks = input[Symbol.asyncIterator]();
  // A view, not a copy, of each chunk.
  const asBuffer = (chunk: Uint8Array) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const head: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < 2 && !done) {
    const next = await chunks.next();
    if (next.done) done = true;
    else {
      head.push(asBuffer(next.value));
      length += next.value.length;
    }
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield asBuffer(next.value);
  }
  if (!isGzip(Buffer.concat(head))) return replay();
  // pipeline, not pipe: an error of the source (or corrupt gzip) ends the iteration with that error.
  return pipeline(Readable.from(replay()), createGunzip(), () => {});
}
