/**
 * The Storage contract: the same cases on s3rver and on a local temp folder, so every step can rely on
 * one behaviour whichever backend a URI lands on.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObjectChangedError, ObjectNotFoundError } from "../../src/storage/errors.js";
import type { Storage } from "../../src/storage/types.js";
import { type BackendUnderTest, backendFactories } from "./backends.js";

const md5 = (bytes: Buffer | string) => createHash("md5").update(bytes).digest("hex");
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

async function putMany(storage: Storage, uris: string[]): Promise<void> {
  const limit = pLimit(32);
  await Promise.all(uris.map((uri) => limit(() => storage.put(uri, `body of ${uri}`))));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(backendFactories)("Storage contract on $name", (factory) => {
  let backend: BackendUnderTest;
  let storage: Storage;
  let base: string;

  beforeAll(async () => {
    backend = await factory.create();
    storage = backend.storage;
    base = backend.base;
  });
  afterAll(async () => backend.cleanup());

  it("a get with ifMatch returns the object while its etag matches, and refuses it once it changed", async () => {
    const uri = `${base}conditional/data.csv`;
    const first = await storage.put(uri, "id\n1\n");
    expect((await storage.get(uri, { ifMatch: first.etag })).toString()).toBe("id\n1\n");

    const second = await storage.put(uri, "id\n1\n2\n");
    const error = await storage.get(uri, { ifMatch: first.etag }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectChangedError);
    expect(error).toMatchObject({
      code: "OBJECT_CHANGED",
      uri,
      expectedEtag: first.etag,
      actualEtag: second.etag,
    });
    expect((error as Error).message).toContain(uri);
    expect((error as Error).message).toContain(first.etag);
    expect((error as Error).message).toContain(second.etag);
  });

  it("puts, heads and gets a small object; the etag is the MD5 of the content", async () => {
    const uri = `${base}small/hello.json`;
    const body = '{"hello":"world"}';
    const before = Date.now();
    const put = await storage.put(uri, body);
    expect(put).toEqual({ uri, etag: md5(body), size: Buffer.byteLength(body) });

    const info = await storage.head(uri);
    expect(info.uri).toBe(uri);
    expect(info.size).toBe(Buffer.byteLength(body));
    expect(info.etag).toBe(md5(body));
    expect(info.storageClass).toBe("STANDARD");
    // S3 keeps whole seconds: allow for the truncation.
    expect(info.lastModified.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(info.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    expect((await storage.get(uri)).toString()).toBe(body);
    expect((await readAll(await storage.getStream(uri))).toString()).toBe(body);
    expect(await storage.exists(uri)).toBe(true);
  });

  it("reads a byte range of an object, and names the URI when it is missing", async () => {
    const uri = `${base}range/bytes.bin`;
    const bytes = randomBytes(100_000);
    await storage.put(uri, bytes);
    expect(await storage.getRange(uri, 0, 10)).toEqual(bytes.subarray(0, 10));
    expect(await storage.getRange(uri, 99_992, 100_000)).toEqual(bytes.subarray(99_992));
    expect(await storage.getRange(uri, 40_000, 40_000)).toHaveLength(0);
    await expect(storage.getRange(`${base}range/missing.bin`, 0, 8)).rejects.toThrow(ObjectNotFoundError);
  });

  it("overwrites an object in place", async () => {
    const uri = `${base}small/overwrite.txt`;
    await storage.put(uri, "first version");
    await storage.put(uri, Buffer.from("second"));
    expect((await storage.get(uri)).toString()).toBe("second");
    expect((await storage.head(uri)).etag).toBe(md5("second"));
  });

  it("copies an object byte for byte over an existing one, names a missing source, and stays inside the roots", async () => {
    const source = `${base}copy/from/part=a b/data.parquet`;
    const target = `${base}copy/to/k=v%3A/part-0.parquet`;
    const bytes = randomBytes(300_000);
    await storage.put(source, bytes);
    await storage.put(target, "an older version");
    const copied = await storage.copy(source, target);
    expect(copied).toEqual({ uri: target, size: bytes.length });
    expect((await storage.get(target)).equals(bytes)).toBe(true);
    expect((await storage.head(target)).etag).toBe(md5(bytes));
    // The copy is its own object: replacing the source later leaves it as it was.
    await storage.put(source, "replaced");
    expect((await storage.get(target)).equals(bytes)).toBe(true);
    expect(await collect(storage.listSummaries(`${base}copy/to/`))).toHaveLength(1);

    const missing = `${base}copy/from/missing.parquet`;
    const error = await storage.copy(missing, `${base}copy/to/other.parquet`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as Error).message).toContain("missing.parquet");
    expect(await storage.exists(`${base}copy/to/other.parquet`)).toBe(false);
    await expect(storage.copy(source, backend.unreachable.uri)).rejects.toBeInstanceOf(
      backend.unreachable.error,
    );
  });

  it("putIfAbsent creates a missing object with the given bytes", async () => {
    // Refusing an existing name is tested on local folders: s3rver ignores If-None-Match.
    const uri = `${base}create-only/new.json`;
    const put = await storage.putIfAbsent(uri, '{"a":1}');
    expect(put).toEqual({ uri, etag: md5('{"a":1}'), size: 7 });
    expect((await storage.get(uri)).toString()).toBe('{"a":1}');
  });

  it("reports a missing object with ObjectNotFoundError naming the URI", async () => {
    const uri = `${base}missing/nothing-here.parquet`;
    expect(await storage.exists(uri)).toBe(false);
    for (const attempt of [() => storage.head(uri), () => storage.get(uri), () => storage.getStream(uri)]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect((error as ObjectNotFoundError).uri).toBe(uri);
      expect((error as Error).message).toContain(uri);
    }
  });

  it("refuses an unreachable container (missing bucket / outside the root) with a typed error", async () => {
    const { uri, error: expected } = backend.unreachable;
    const attempts: Array<() => Promise<unknown>> = [
      () => storage.head(uri),
      () => storage.exists(uri),
      () => storage.get(uri),
      () => storage.put(uri, "x"),
      () => storage.put(uri, Readable.from([Buffer.from("streamed")])),
      () => storage.listFolders(uri.slice(0, uri.lastIndexOf("/"))),
      () => collect(storage.list(uri.slice(0, uri.lastIndexOf("/")))),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(expected);
      expect((error as Error).message).toContain(uri.slice(0, uri.lastIndexOf("/")));
    }
  });

  describe("with more than 1000 objects under one prefix", () => {
    const folder = () => `${base}many/`;
    // Odd names in byte order. Names where a directory walk and byte order disagree ("a-b" < "a/b") are
    // left to the local-only suite: s3rver lists in its own directory-walk order, unlike real S3.
    const keys = Array.from({ length: 1100 }, (_, i) => `k${String(i).padStart(4, "0")}.json`);
    keys.push("Z", "a0", "a/b", "a/c/d", "é", "~tilde", "😀");

    beforeAll(async () => {
      await putMany(
        storage,
        keys.map((key) => folder() + key),
      );
      // Neighbours that share the string prefix but are not in the folder.
      await putMany(storage, [`${base}many-sibling/x`, `${base}manyx`]);
    });

    it("lists every object under the prefix across pages, in UTF-8 byte order", async () => {
      const listed = await collect(storage.list(`${base}many`));
      const expected = keys.map((key) => folder() + key).sort(byUtf8);
      expect(listed.map((info) => info.uri)).toEqual(expected);
      const sample = listed.find((info) => info.uri === `${folder()}k0042.json`);
      expect(sample?.size).toBe(Buffer.byteLength(`body of ${folder()}k0042.json`));
      expect(sample?.etag).toBe(md5(`body of ${folder()}k0042.json`));

      // The summaries list the same objects in the same order, without etags.
      const summaries = await collect(storage.listSummaries(`${base}many`));
      expect(summaries).toEqual(listed.map(({ etag: _, ...summary }) => summary));

      // With or without the trailing slash, the same folder.
      expect((await collect(storage.list(folder()))).length).toBe(keys.length);
      expect(await collect(storage.list(`${base}no-such-folder/`))).toEqual([]);
    });

    it("deletes them all in one call (several 1000-key batches); absent keys are fine", async () => {
      const uris = keys.map((key) => folder() + key);
      await storage.delete([...uris, `${folder()}never-existed.tsv`, `${base}also/absent.json`]);
      expect(await collect(storage.list(folder()))).toEqual([]);
      // Only what was named is gone.
      expect(await storage.exists(`${base}manyx`)).toBe(true);
      expect(await storage.exists(`${base}many-sibling/x`)).toBe(true);
      await storage.delete([]);
      await storage.delete([`${base}manyx`, `${base}manyx`]);
      expect(await storage.exists(`${base}manyx`)).toBe(false);
    });
  });

  it("lists the folders one level down", async () => {
    const table = `${base}table/`;
    // s3rver only reports a common prefix when an object sits exactly one level below it, so every
    // partition here holds a direct object (real S3 and the local backend don't need that).
    await putMany(storage, [
      `${table}run=2024-01-02/part-0.parquet`,
      `${table}run=2024-01-01/part-0.parquet`,
      `${table}run=2024-01-01/part-1.parquet`,
      `${table}run=2024-01-10/part-0.parquet`,
      `${table}_manifest.json`,
    ]);
    const expected = [`${table}run=2024-01-01/`, `${table}run=2024-01-02/`, `${table}run=2024-01-10/`];
    expect(await storage.listFolders(`${base}table`)).toEqual(expected);
    expect(await storage.listFolders(table)).toEqual(expected);
    expect(await storage.listFolders(`${base}no-such-table/`)).toEqual([]);

    // A folder whose objects are all deleted is gone, as on S3.
    await storage.delete([`${table}run=2024-01-10/part-0.parquet`]);
    expect(await storage.listFolders(table)).toEqual(expected.slice(0, 2));
  });

  it("round-trips keys with spaces, '=', '%' and non-ASCII characters", async () => {
    const keys = [
      "odd/with space/file name.tsv",
      "odd/dt=2024-01-01/a=b.json",
      "odd/100%/50%25 done.txt",
      "odd/ünïcödé/日本語 ☃.json",
      "odd/plus+and&amp?.bin",
    ];
    for (const key of keys) {
      const put = await storage.put(base + key, `content of ${key}`);
      expect(put.uri).toBe(base + key);
    }
    const listed = await collect(storage.list(`${base}odd/`));
    expect(listed.map((info) => info.uri)).toEqual(keys.map((key) => base + key).sort(byUtf8));
    for (const key of keys) {
      expect((await storage.get(base + key)).toString()).toBe(`content of ${key}`);
      expect((await storage.head(base + key)).etag).toBe(md5(`content of ${key}`));
    }
    await storage.delete(keys.map((key) => base + key));
    expect(await collect(storage.list(`${base}odd/`))).toEqual([]);
  });

  describe("a 20 MB object (multipart on S3)", () => {
    const bytes = randomBytes(20 * 1024 * 1024);

    it("from a Buffer", async () => {
      const uri = `${base}large/buffer.parquet`;
      const put = await storage.put(uri, bytes);
      expect(put.size).toBe(bytes.length);
      expect((await storage.head(uri)).size).toBe(bytes.length);
      expect(md5(await storage.get(uri))).toBe(md5(bytes));
    });

    it("from a stream", async () => {
      const uri = `${base}large/stream.parquet`;
      const chunks = Array.from({ length: 20 }, (_, i) =>
        bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024),
      );
      const put = await storage.put(uri, Readable.from(chunks));
      expect(put.size).toBe(bytes.length);
      expect((await storage.head(uri)).size).toBe(bytes.length);
      expect(md5(await readAll(await storage.getStream(uri)))).toBe(md5(bytes));
    });
  });
});
