/**
 * Property: whatever the partition values (null, "", the default-partition literal, `/`, `=`, `%`, `..`,
 * unicode, long but legal) and however the rows fall into files and groups, the lake read back (each
 * file's rows, with the partition values decoded from its path) equals the input as a multiset. Random
 * but seeded: a failure prints its seed; SNAPLAKE_PROPERTY_SEED=<seed> replays it.
 */
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { decodeHivePath, HIVE_DEFAULT_PARTITION, partitionFolderValue } from "../src/models/hive.js";
import { seededRandom } from "../src/samples/random.js";
import {
  parquetProject,
  readLake,
  type StorageKind,
  testContexts,
  writeParquetSnapshot,
} from "./support/orders-project.js";

const BASE_SEED = Number(process.env.SNAPLAKE_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = 2;

const CHARS = [..."aZ0 ._-/=%#?:*'\"\\[]^{}é東😀\t"];
/** Three values that share one folder: each must still reach the lake once. */
const NULL_LIKE = [null, "", HIVE_DEFAULT_PARTITION];
const SPECIAL = ["/", "a/b", "=", "k=v", "%", "%2F", "..", ".", "São Paulo", " "];

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1));

function randomText(random: Random, length: number): string {
  return Array.from({ length }, () => pick(random, CHARS)).join("");
}

/** A partition value: null-like, a special case, a short random string, or a long one whose folder name still fits 255 bytes. */
function partitionValue(random: Random): string | null {
  const kind = random();
  if (kind < 0.25) return pick(random, NULL_LIKE);
  if (kind < 0.5) return pick(random, SPECIAL);
  if (kind < 0.85) return randomText(random, between(random, 1, 8));
  // At most 4 bytes a character once escaped ("%" -> "%25", "😀" is 4 bytes): 60 characters fit.
  return randomText(random, between(random, 40, 60));
}

interface Round {
  frames: pl.DataFrame[];
  /** The rows as the lake should hold them: [id, p1, p2, v], partition values as their folder holds them. */
  expected: string[];
  targetFileGroupSize: number;
}

function generateRound(seed: number): Round {
  const random = seededRandom(seed);
  const numericP2 = random() < 0.5;
  const p1Palette = Array.from({ length: between(random, 1, 12) }, () => partitionValue(random));
  const p2Palette = Array.from({ length: between(random, 1, 4) }, () =>
    numericP2 ? (random() < 0.2 ? null : between(random, -5, 5)) : partitionValue(random),
  );
  const frames: pl.DataFrame[] = [];
  const expected: string[] = [];
  let id = 0;
  for (let file = between(random, 1, 3); file > 0; file--) {
    const rows = Array.from({ length: between(random, 1, 40) }, () => ({
      id: id++,
      p1: pick(random, p1Palette),
      p2: pick(random, p2Palette),
      v: random() < 0.1 ? null : randomText(random, between(random, 0, 6)),
    }));
    frames.push(
      pl.DataFrame(
        {
          id: rows.map((r) => r.id),
          p1: rows.map((r) => r.p1),
          p2: rows.map((r) => r.p2),
          v: rows.map((r) => r.v),
        },
        { schema: { id: pl.Int64, p1: pl.Utf8, p2: numericP2 ? pl.Int64 : pl.Utf8, v: pl.Utf8 } },
      ),
    );
    for (const r of rows) {
      const p2 = r.p2 === null ? null : String(r.p2);
      expected.push(JSON.stringify([r.id, partitionFolderValue(r.p1), partitionFolderValue(p2), r.v]));
    }
  }
  return { frames, expected: expected.sort(), targetFileGroupSize: pick(random, [1, 2_000, 100_000_000]) };
}

const newContext = testContexts();

async function checkRound(kind: StorageKind, seed: number): Promise<void> {
  const { frames, expected, targetFileGroupSize } = generateRound(seed);
  const context = await newContext(kind);
  await writeParquetSnapshot(context, frames);
  const project = parquetProject(context, { partitionKeys: ["p1", "p2"], targetFileGroupSize });
  const replay = `seed ${seed} (replay: SNAPLAKE_PROPERTY_SEED=${seed})`;
  const summary = await project.runAll({ workers: 2 }).catch((error: unknown) => {
    throw new Error(`${replay}: ${(error as Error).message}`, { cause: error });
  });
  expect(summary.validation.ok, replay).toBe(true);

  const actual: string[] = [];
  for (const file of await readLake(context.storage, `${context.root}lake/`)) {
    const values = decodeHivePath(file.partition);
    const ids = file.frame.getColumn("id").toArray();
    const vs = file.frame.getColumn("v").toArray();
    ids.forEach((id, row) => {
      actual.push(JSON.stringify([Number(id), values.p1 ?? null, values.p2 ?? null, vs[row]]));
    });
  }
  expect(actual.sort(), replay).toEqual(expected);
}

describe.each<StorageKind>(["local", "s3"])("random partition values and rows on %s storage", (kind) => {
  it("the lake read back equals the input as a multiset", async () => {
    // Rounds run side by side: a run mostly waits on storage and the tracker.
    const seeds = Array.from({ length: ROUNDS }, (_, round) => BASE_SEED + round);
    await Promise.all(seeds.map((seed) => checkRound(kind, seed)));
  }, 120_000);
});
