/**
 * Group and manifest names are fingerprints: fingerprintFiles must keep giving exactly the digest of its
 * definition (SHA-256 of "uri\tetag\n" for every file in uri order, UTF-8, first 32 hex characters),
 * whatever shortcuts it takes for speed. Compared here with the definition on seeded random inputs.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type FingerprintInput, fingerprintFiles } from "../../src/models/fingerprint.js";
import { seededRandom as random } from "../../src/samples/random.js";

function definition(files: readonly FingerprintInput[]): string {
  const sorted = [...files].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  const hash = createHash("sha256");
  for (const file of sorted) hash.update(Buffer.from(`${file.uri}\t${file.etag}\n`, "utf8"));
  return hash.digest("hex").slice(0, 32);
}

const alphabets = {
  ascii: "abcdefghijklmnopqrstuvwxyz0123456789/-_=.",
  "non-ASCII": "aé/ü=ß中文-😀\u00ff",
};

function files(next: () => number, count: number, alphabet: string, order: "sorted" | "shuffled") {
  const chars = [...alphabet];
  const word = (length: number) =>
    Array.from({ length }, () => chars[Math.floor(next() * chars.length)]).join("");
  const list = Array.from({ length: count }, (_, i) => ({
    uri: `s3://bucket/${word(1 + Math.floor(next() * 40))}/${i}`,
    etag: word(1 + Math.floor(next() * 32)),
  }));
  if (order === "sorted") list.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  else {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  }
  return list;
}

describe("fingerprintFiles matches its definition", () => {
  for (const [name, alphabet] of Object.entries(alphabets)) {
    for (const order of ["sorted", "shuffled"] as const) {
      it(`${name} keys, ${order}, from 0 to 30,000 files`, () => {
        const next = random(name.length * 7 + order.length);
        // 30,000 files of ~60 characters go well past any internal chunking of the text.
        for (const count of [0, 1, 2, 17, 500, 30_000]) {
          const list = files(next, count, alphabet, order);
          expect(fingerprintFiles(list)).toBe(definition(list));
        }
      });
    }
  }

  it("keeps duplicate uris apart by etag, in input order", () => {
    const list = [
      { uri: "s3://b/same", etag: "2" },
      { uri: "s3://b/same", etag: "1" },
      { uri: "s3://b/a", etag: "x" },
    ];
    expect(fingerprintFiles(list)).toBe(definition(list));
  });
});
