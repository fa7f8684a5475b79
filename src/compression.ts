/** gzip, recognised by its magic bytes whatever the file is called, and inflated off the event loop. */
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The bytes, gunzipped on libuv's thread pool when they are gzip (so several files inflate at once). */
export async function inflateIfGzip(bytes: Buffer): Promise<Buffer> {
  return isGzip(bytes) ? gunzipAsync(bytes) : bytes;
}
