/**
 * How much larger gzip snapshot files are once inflated, so step 1.1 sizes groups by the bytes a worker
 * will hold in memory rather than by the bytes stored. Measured, not guessed: gzip ends every member with
 * ISIZE, the uncompressed length mod 2^32 (RFC 1952), so a 4-byte ranged read per sampled file tells.
 */
import type { Storage } from "../storage/types.js";

/** Files sampled per manifest: enough for a stable average, few enough to stay one quick round of reads. */
const GZIP_SAMPLE_FILES = 32;

const GZIP_NAME = /\.(gz|gzip)$/i;

export function isGzipName(uri: string): boolean {
  return GZIP_NAME.test(uri);
}

/**
 * Uncompressed / stored bytes over an evenly spread sample of the `.gz`/`.gzip` files (1 when there are
 * none). Deterministic for the same files, so planning the same snapshot twice gives the same groups.
 * A file over 4 GiB uncompressed wraps ISIZE; such a sample is left out when that shows. (A file of several
 * gzip members reports its last member only, which underestimates: such files are rare among exports.)
 */
export async function measureGzipExpansion(
  storage: Storage,
  files: ReadonlyArray<{ uri: string; size: number }>,
  sampleFiles = GZIP_SAMPLE_FILES,
): Promise<number> {
  const gzipped = files.filter((file) => isGzipName(file.uri) && file.size >= 20);
  if (gzipped.length === 0) return 1;
  const step = Math.max(1, gzipped.length / sampleFiles);
  const sample = Array.from(
    { length: Math.min(sampleFiles, gzipped.length) },
    (_, i) => gzipped[Math.floor(i * step)]!,
  );
  const sizes = await Promise.all(
    sample.map(async (file) => {
      const trailer = await storage.getRange(file.uri, file.size - 4, file.size);
      return { stored: file.size, inflated: trailer.readUInt32LE(0) };
    }),
  );
  let stored = 0;
  let inflated = 0;
  for (const size of sizes) {
    // Deflate never grows data by more than a few bytes per block: a smaller ISIZE means it wrapped.
    if (size.inflated < (size.stored - 18) / 1.01) continue;
    stored += size.stored;
    inflated += size.inflated;
  }
  return stored > 0 ? Math.max(1, inflated / stored) : 1;
}
