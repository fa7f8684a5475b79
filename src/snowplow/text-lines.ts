/**
 * Enriched TSV as a stream of lines, plain or gzip, in constant memory: the same line rule as the batch
 * reader, so a line number means the same thing everywhere (`snowplow to-json`, the event-manifest
 * populator, bad rows).
 */
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { isGzip } from "../compression.js";

/** The stream's bytes, gunzipped when its first two bytes are the gzip magic (which may come in two chunks). */
export async function inflated(input: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Buffer>> {
  const chunks = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < 2 && !done) {
    const next = await chunks.next();
    if (next.done) done = true;
    else {
      head.push(Buffer.from(next.value));
      length += next.value.length;
    }
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (let next = await chunks.next(); !next.done; next = await chunks.next())
      yield Buffer.from(next.value);
  }
  if (!isGzip(Buffer.concat(head))) return replay();
  // pipeline, not pipe: an error of the source (or corrupt gzip) ends the iteration with that error.
  return pipeline(Readable.from(replay()), createGunzip(), () => {});
}

/**
 * Lines split on "\n" only (node's readline would also split on a lone "\r" and shift line numbers); a
 * final newline ends the last line rather than starting an empty one. A "\r" before the "\n" stays on the
 * line; the per-line rules (splitEnrichedLine) drop it.
 */
export async function* textLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
      yield pending.slice(start, end);
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}
