import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { cutAtLineEnds, textLines } from "../../src/snowplow/text-lines.js";

/** A stream of the bytes in pieces of `size` (1: the gzip magic arrives in two chunks). */
const pieces = (bytes: Buffer, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

async function linesOf(bytes: Buffer, size = 3): Promise<string[]> {
  const out: string[] = [];
  for await (const line of textLines(pieces(bytes, size))) out.push(line);
  return out;
}

describe("textLines", () => {
  const text = "a\tb\r\nc\rd\n\né\n"; // CRLF, a lone CR inside a line, a blank line, non-ASCII split over chunks

  it("splits on \\n only, as the batch reader counts lines, plain or gzip, whatever the chunking", async () => {
    const expected = ["a\tb\r", "c\rd", "", "é"];
    expect(await linesOf(Buffer.from(text))).toEqual(expected);
    expect(await linesOf(Buffer.from(text), 1)).toEqual(expected);
    expect(await linesOf(gzipSync(text), 1)).toEqual(expected);
    expect(await linesOf(gzipSync(text), 1000)).toEqual(expected);
    expect(await linesOf(Buffer.from("last line without newline"))).toEqual(["last line without newline"]);
    expect(await linesOf(Buffer.alloc(0))).toEqual([]);
  });

  it("ends with the error of corrupt gzip instead of stopping quietly", async () => {
    const corrupt = gzipSync("x\n".repeat(1000)).subarray(0, 30);
    await expect(linesOf(corrupt)).rejects.toThrow();
  });
});

describe("cutAtLineEnds", () => {
  it("cuts just after a newline into parts of at most maxBytes, a longer line alone, without copying", () => {
    const long = "x".repeat(25);
    const texts = [Buffer.from(`ab\ncd\r\n\n${long}\nef\ngh`), Buffer.from("ij\n"), Buffer.alloc(0)];
    const parts = cutAtLineEnds(texts, 8);
    expect(parts.map(String)).toEqual(["ab\ncd\r\n\n", `${long}\n`, "ef\ngh", "ij\n"]);
    expect(parts[0]?.buffer).toBe(texts[0]?.buffer);
    expect(cutAtLineEnds([Buffer.from(long)], 8).map(String)).toEqual([long]);
    expect(cutAtLineEnds(texts, 1000).map(String)).toEqual([String(texts[0]), "ij\n"]);
  });
});
