/** Local etags are hashed on worker threads, several files ahead of a listing: same etags, same order. */

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ObjectNotFoundError } from "../../src/storage/errors.js";
import { HASH_THREADS, md5OfFile, stopFileHashing } from "../../src/storage/file-md5.js";
import { LocalStorage } from "../../src/storage/local.js";
import type { ObjectInfo } from "../../src/storage/types.js";
import { builtFile } from "../support/cli.js";

const run = promisify(execFile);
const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");
const MiB = 1024 * 1024;

async function listAll(storage: LocalStorage, folder: string): Promise<ObjectInfo[]> {
  const infos: ObjectInfo[] = [];
  for await (const info of storage.list(folder)) infos.push(info);
  return infos;
}

describe("local etags hashed on worker threads", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "snaplake-hashing-"));
  });
  afterEach(async () => {
    await stopFileHashing();
    await rm(root, { recursive: true, force: true });
  });

  it("gives each file the MD5 of its bytes, in key order, for empty, chunk-edge and large files", async () => {
    // Sizes around the 1 MiB read size and one large file; names written in shuffled order, in nested folders.
    const sizes = [0, 1, 17, 4096, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 7, 24 * MiB + 5];
    const files = Array.from({ length: 40 }, (_, index) => ({
      key: `${index % 3 === 0 ? "run=a/" : index % 3 === 1 ? "run=b/sub/" : ""}part-${String(index).padStart(3, "0")}.tsv`,
      bytes: randomBytes(sizes[index % sizes.length] as number),
    }));
    for (const file of [...files].sort(() => Math.random() - 0.5)) {
      await mkdir(join(root, file.key, ".."), { recursive: true });
      await writeFile(join(root, file.key), file.bytes);
    }

    const listed = await listAll(new LocalStorage(root), root);

    const keyOrder = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    expect(listed.map((info) => info.uri)).toEqual(keyOrder.map((file) => `file://${root}/${file.key}`));
    expect(listed.map((info) => info.etag)).toEqual(keyOrder.map((file) => md5(file.bytes)));
    expect(listed.map((info) => info.size)).toEqual(keyOrder.map((file) => file.bytes.length));
    expect(listed.find((info) => info.size === 0)?.etag).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });

  it("a get with ifMatch and no cached etag hashes the open file on a thread: same bytes, same verdict", async () => {
    const files = Array.from({ length: 12 }, (_, index) => ({
      path: join(root, `get-${index}.bin`),
      bytes: randomBytes(index === 0 ? 0 : index * 700_001),
    }));
    for (const file of files) await writeFile(file.path, file.bytes);

    // A new store has hashed nothing: every etag comes from a thread reading the descriptor being read.
    const fresh = new LocalStorage(root);
    const read = await Promise.all(files.map((file) => fresh.get(file.path, { ifMatch: md5(file.bytes) })));
    expect(read.map((bytes) => md5(bytes))).toEqual(files.map((file) => md5(file.bytes)));

    const other = files[5] as { path: string; bytes: Buffer };
    const error = await new LocalStorage(root)
      .get(other.path, { ifMatch: md5(Buffer.from("another version")) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "OBJECT_CHANGED", actualEtag: md5(other.bytes) });
  });

  it("a file removed while its hash waits for a thread fails the listing with ObjectNotFoundError naming it", async () => {
    // With every thread held, the listed file is stat'ed and queued but not hashed until they are released:
    // removing it in between is certain.
    const threads = await holdHashingThreads(root);
    const folder = join(root, "snapshot");
    await mkdir(folder);
    await writeFile(join(folder, "part-0.tsv"), "a\tb\n");
    try {
      const listing = new LocalStorage(root).list(folder)[Symbol.asyncIterator]().next();
      listing.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 500)); // the stat (libuv pool) is done by then
      await unlink(join(folder, "part-0.tsv"));
      await threads.release();
      const error = await listing.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect((error as ObjectNotFoundError).uri).toBe(`file://${folder}/part-0.tsv`);
      expect(await Promise.all(threads.held)).toEqual(threads.held.map(() => md5(Buffer.alloc(0))));
    } finally {
      await threads.release();
    }
  });

  it("stopping fails the hashes still waiting; the next hash starts new threads", async () => {
    const threads = await holdHashingThreads(root);
    const file = join(root, "waiting.bin");
    await writeFile(file, "queued behind the FIFOs");
    const waiting = md5OfFile(file).catch((e: unknown) => e);
    // terminate() waits for a thread blocked in a read: release the FIFOs while the stop is under way.
    const stopping = stopFileHashing();
    await threads.release();
    await stopping;
    expect(await waiting).toMatchObject({ message: expect.stringContaining("stopped") });
    for (const result of await Promise.all(threads.held.map((hash) => hash.catch((e: unknown) => e))))
      expect(result).toMatchObject({ message: expect.stringContaining("stopped") });
    expect(await md5OfFile(file)).toBe(md5(Buffer.from("queued behind the FIFOs")));
  });

  it("the hashing threads don't keep a process alive once its listing is done", async () => {
    await writeFile(join(root, "a.tsv"), "x\ty\n");
    await writeFile(join(root, "b.tsv"), randomBytes(3 * MiB));
    const script = `
      import { LocalStorage } from ${JSON.stringify(pathToFileURL(builtFile("storage/local.js")).href)};
      for await (const info of new LocalStorage(${JSON.stringify(root)}).list(${JSON.stringify(root)}))
        console.log(info.etag);`;
    // Were the idle threads still referenced, the process would live on until they end (after a minute
    // without work), and the timeout would kill it first.
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 30_000,
    });
    const storage = new LocalStorage(root);
    const expected = (await listAll(storage, root)).map((info) => info.etag);
    expect(stdout.trim().split("\n")).toEqual(expected);
  });
});

/**
 * Gives every hashing thread a FIFO to hash and returns once each one has opened its FIFO: the thread then
 * waits in a read until `release` closes the FIFO's write end (and it hashes an empty file).
 */
async function holdHashingThreads(root: string) {
  const fifos = Array.from({ length: HASH_THREADS }, (_, index) => join(root, `fifo-${index}`));
  for (const fifo of fifos) await run("mkfifo", [fifo]);
  const held = fifos.map((fifo) => md5OfFile(fifo));
  for (const hash of held) hash.catch(() => {}); // awaited by the test
  // A FIFO's write end opens once its read end is open, that is once a thread holds it.
  const writers = await Promise.all(fifos.map((fifo) => open(fifo, "w")));
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await Promise.all(writers.map((writer) => writer.close()));
  };
  return { held, release };
}
