/**
 * gzip inflation sizes zlib's output chunks from the trailer's ISIZE, which is only a hint: the output must
 * be the whole inflated stream whatever size the trailer gives (several members, incompressible data).
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { inflateIfGzip, inflateIfGzipSync } from "../src/compression.js";

describe("inflateIfGzip", () => {
  const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i}\t${i * 7}\n`).join(""));
  const noise = randomBytes(300_000); // incompressible: many output chunks of the smallest size

  it.each([
    ["one member", gzipSync(text), text],
    // Two members: the trailer gives only the last one's size, far below the whole output.
    [
      "two members",
      Buffer.concat([gzipSync(text), gzipSync("tail\n")]),
      Buffer.concat([text, Buffer.from("tail\n")]),
    ],
    ["incompressible", gzipSync(noise), noise],
  ])("gives back every byte (%s), async and sync", async (_name, gzip, expected) => {
    expect((await inflateIfGzip(gzip)).equals(expected)).toBe(true);
    expect(inflateIfGzipSync(gzip).equals(expected)).toBe(true);
  });

  it("refuses, as zlib does, a stream whose trailer size is wrong or that is cut short", async () => {
    const gzip = gzipSync(text);
    const lying = Buffer.from(gzip);
    lying.writeUInt32LE(16, lying.length - 4); // a tiny chunk size, and an ISIZE zlib checks at the end
    await expect(inflateIfGzip(lying)).rejects.toThrow();
    expect(() => inflateIfGzipSync(lying)).toThrow();
    await expect(inflateIfGzip(gzip.subarray(0, gzip.length - 20))).rejects.toThrow();
  });

  it("returns other bytes as they are", async () => {
    expect(await inflateIfGzip(text)).toBe(text);
    expect(inflateIfGzipSync(text)).toBe(text);
  });
});
