/** gzip, recognised by its magic bytes whatever the file is called, and inflated off the event loop. */
import { pipeline, Readable } from "node:stream";
import { promisify } from "node:util";
import { createGunzip, gunzip } from "node:zlib";

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The bytes, gunzipped on libuv's thread pool when they are gzip (so several files inflate at once). */
export async function inflateIfGzip(bytes: Buffer): Promise<Buffer> {
  return isGzip(bytes) ? gunzipAsync(bytes) : bytes;
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
