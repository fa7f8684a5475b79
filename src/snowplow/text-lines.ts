/**
 * Enriched TSV as a stream of lines, plain or gzip, in constant memory, and a batch's texts cut into parts
 * at line ends: the same line rule as the batch reader, so a line number means the same thing everywhere
 * (`snowplow to-json`, the event-manifest populator, bad rows).
 */
import { inflateStreamIfGzip } from "../compression.js";

/**
 * The lines of a byte stream, gunzipped first when it is gzip. Lines are split on "\n" only (node's readline
 * would also split on a lone "\r" and shift line numbers); a final newline ends the last line rather than
 * starting an empty one. A "\r" before the "\n" stays on the line; the per-line rules (splitEnrichedLine)
 * drop it.
 */
export async function* textLines(input: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of await inflateStreamIfGzip(input)) {
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

/**
 * Texts cut at line ends into parts of at most `maxBytes` (a longer line is a part of its own; an empty text
 * gives none): views, not copies. Each cut falls just after a "\n", so the parts hold the same lines as the texts
 * (the end of a text ends its last line, as for the batch reader).
 */
export function cutAtLineEnds(texts: readonly Buffer[], maxBytes: number): Buffer[] {
  const parts: Buffer[] = [];
  for (const text of texts) {
    let start = 0;
    while (text.length - start > maxBytes) {
      const newline = text.lastIndexOf(0x0a, start + maxBytes - 1);
      const end = newline >= start ? newline + 1 : text.indexOf(0x0a, start + maxBytes) + 1 || text.length;
      parts.push(text.subarray(start, end));
      start = end;
    }
    if (start < text.length) parts.push(text.subarray(start));
  }
  return parts;
}
