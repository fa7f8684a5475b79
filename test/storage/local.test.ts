/** What only the local-folder backend promises: atomic writes, root confinement, S3-like listings. */

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStorage } from "../../src/storage/create.js";
import {
  InvalidUriError,
  ObjectExistsError,
  OutsideRootError,
  StorageError,
} from "../../src/storage/errors.js";
import { LocalStorage } from "../../src/storage/local.js";
import type { ObjectInfo } from "../../src/storage/types.js";
import { joinUri } from "../../src/storage/uri.js";
import { builtFile } from "../support/cli.js";

const md5 = (bytes: Buffer | string) => createHash("md5").update(bytes).digest("hex");

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of iterable) out.push(info.uri);
  return out;
}

/** A body that sends some bytes, then fails, like a network source dropping mid-transfer. */
function failingBody(): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from("the first half of a file that never completes");
      throw new Error("source dropped");
    })(),
  );
}

describe("LocalStorage", () => {
  let parent: string;
  let root: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "snaplake-local-"));
    root = join(parent, "store");
    await mkdir(root);
    storage = new LocalStorage(root);
  });
  afterEach(async () => rm(parent, { recursive: true, force: true }));

  describe("atomic writes", () => {
    it("a failing stream leaves no file under the final name and no temp file behind", async () => {
      const uri = `file://${root}/out/new.parquet`;
      const error = await storage.put(uri, failingBody()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain(uri);
      expect((error as Error).message).toContain("source dropped");

      expect(await storage.exists(uri)).toBe(false);
      expect(await readdir(join(root, "out"))).toEqual([]);
      expect(await collect(storage.list(`file://${root}/`))).toEqual([]);
    });

    it("a failing rewrite keeps the previous content intact", async () => {
      const uri = `file://${root}/out/existing.json`;
      await storage.put(uri, '{"version":1}');
      await expect(storage.put(uri, failingBody())).rejects.toThrow(/source dropped/);
      expect((await storage.get(uri)).toString()).toBe('{"version":1}');
      expect(await readdir(join(root, "out"))).toEqual(["existing.json"]);
    });

    it("an unfinished write is invisible: no final name, no listed temp file, no listed folder", async () => {
      const uri = `file://${root}/part/run=1/data.tsv`;
      const body = new PassThrough();
      const writing = storage.put(uri, body);
      body.write("a\tb\n");
      // Wait until the temp file exists on disk.
      while (
        !(existsSync(join(root, "part/run=1")) && (await readdir(join(root, "part/run=1"))).length > 0)
      ) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(await storage.exists(uri)).toBe(false);
      expect(await collect(storage.list(`file://${root}`))).toEqual([]);
      expect(await storage.listFolders(`file://${root}/part`)).toEqual([]);

      body.end("c\td\n");
      expect(await writing).toEqual({ uri, etag: md5("a\tb\nc\td\n"), size: 8 });
      expect(await collect(storage.list(`file://${root}`))).toEqual([uri]);
      expect(await storage.listFolders(`file://${root}/part`)).toEqual([`file://${root}/part/run=1/`]);
    });
  });

  describe("create-only writes (putIfAbsent)", () => {
    it("creates a missing object, then refuses to replace it and leaves no temp file", async () => {
      const uri = `file://${root}/log/00000000000000000000.json`;
      await storage.putIfAbsent(uri, "first");
      const error = await storage.putIfAbsent(uri, "second").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectExistsError);
      expect((error as ObjectExistsError).code).toBe("OBJECT_EXISTS");
      expect((error as Error).message).toContain(uri);
      expect(await readFile(join(root, "log/00000000000000000000.json"), "utf8")).toBe("first");
      expect(await readdir(join(root, "log"))).toEqual(["00000000000000000000.json"]);
    });

    it("of many racing writers to one name, exactly one wins and its bytes stay", async () => {
      const uri = `file://${root}/race/one.json`;
      const writers = Array.from({ length: 20 }, (_, i) =>
        new LocalStorage(root).putIfAbsent(uri, `writer ${i}`).then(
          () => i,
          (error: unknown) => error,
        ),
      );
      const outcomes = await Promise.all(writers);
      const winners = outcomes.filter((outcome) => typeof outcome === "number");
      expect(winners).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome instanceof ObjectExistsError)).toHaveLength(19);
      expect(await readFile(join(root, "race/one.json"), "utf8")).toBe(`writer ${winners[0]}`);
      expect(await readdir(join(root, "race"))).toEqual(["one.json"]);
    });
  });

  describe("temp files of killed writes", () => {
    /** Starts a process that begins a write into `folder` and never finishes it; resolves once its temp file exists. */
    async function startHangingWriter(folder: string) {
      const script = `
        import { PassThrough } from "node:stream";
        import { LocalStorage } from ${JSON.stringify(pathToFileURL(builtFile("storage/local.js")).href)};
        const body = new PassThrough();
        new LocalStorage(${JSON.stringify(root)}).put(${JSON.stringify(`${folder}/big.parquet`)}, body);
        body.write("the first bytes of a write that a SIGKILL will interrupt");
        setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const deadline = Date.now() + 30_000;
      while (!existsSync(folder) || (await readdir(folder)).length === 0) {
        if (Date.now() > deadline) throw new Error("the writer never started its temp file");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { child, exited };
    }

    it("carry their owner process; the next write into the folder removes a killed writer's temp file only", async () => {
      const folder = join(root, "lake", "k=v");
      const { child, exited } = await startHangingWriter(folder);
      const [leftover] = await readdir(folder);
      expect(leftover).toMatch(new RegExp(`^\\.snaplake-tmp-${child.pid}-[0-9a-f]{8}-.+@`));

      // A write of this process still in flight in the same folder must survive the sweep.
      const inFlight = new PassThrough();
      const writing = storage.put(`file://${folder}/in-flight.parquet`, inFlight);
      inFlight.write("still writing");
      while ((await readdir(folder)).length < 2) await new Promise((resolve) => setTimeout(resolve, 5));

      child.kill("SIGKILL");
      await exited;
      expect(await readdir(folder)).toContain(leftover); // SIGKILL ran no cleanup

      await new LocalStorage(root).put(`file://${folder}/part-1.parquet`, "next attempt");
      const names = await readdir(folder);
      expect(names).not.toContain(leftover);
      expect(names.filter((name) => name.startsWith(".snaplake-tmp-"))).toHaveLength(1); // the live one
      inFlight.end();
      await writing;
      expect((await readdir(folder)).sort()).toEqual(["in-flight.parquet", "part-1.parquet"]);
    });

    it("temp files without an owner are removed once they are a day old", async () => {
      const folder = join(root, "old");
      await mkdir(folder);
      await writeFile(join(folder, ".snaplake-tmp-0b7e6a8e-legacy"), "left by an older version");
      await writeFile(join(folder, ".snaplake-tmp-fresh"), "maybe still being written");
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(join(folder, ".snaplake-tmp-0b7e6a8e-legacy"), twoDaysAgo, twoDaysAgo);
      await storage.put(`file://${folder}/a.json`, "{}");
      expect((await readdir(folder)).sort()).toEqual([".snaplake-tmp-fresh", "a.json"]);
    });
  });

  describe("root confinement", () => {
    const escapes = (root: string) => [
      `file://${root}/a/../../escape.txt`,
      `${root}/../escape.txt`,
      "../escape.txt",
      `${root}/a/..`, // resolves inside the root, but ".." is refused outright
      "/etc/hostname",
      "file:///etc/hostname",
      `${root}-sibling/escape.txt`, // shares the root's string prefix, not its folder
    ];

    it("refuses '..' segments and paths outside the root for every operation", async () => {
      for (const uri of escapes(root)) {
        for (const attempt of [
          () => storage.get(uri),
          () => storage.head(uri),
          () => storage.exists(uri),
          () => storage.getStream(uri),
          () => storage.put(uri, "nope"),
          () => storage.delete([uri]),
          () => collect(storage.list(uri)),
          () => storage.listFolders(uri),
        ]) {
          const error = await attempt().catch((e: unknown) => e);
          expect(error, `${uri}`).toBeInstanceOf(OutsideRootError);
          expect((error as OutsideRootError).root).toBe(root);
        }
      }
      expect(existsSync(join(parent, "escape.txt"))).toBe(false);
      expect(existsSync(`${root}-sibling`)).toBe(false);
    });

    it("a delete naming one outside URI removes nothing", async () => {
      await storage.put(`${root}/keep.txt`, "keep");
      await expect(storage.delete([`${root}/keep.txt`, `${root}/../x`])).rejects.toBeInstanceOf(
        OutsideRootError,
      );
      expect(await storage.exists(`${root}/keep.txt`)).toBe(true);
    });

    it("a symbolic link leading outside the root is refused for reads, listings and writes", async () => {
      const outside = join(parent, "outside");
      await mkdir(outside);
      await writeFile(join(outside, "secret.txt"), "secret");
      await mkdir(join(root, "snap"));
      await symlink(join(outside, "secret.txt"), join(root, "snap", "linked.txt"));
      await symlink(outside, join(root, "k=v")); // a lake partition folder that is a link elsewhere

      for (const attempt of [
        () => storage.get(`${root}/snap/linked.txt`),
        () => storage.head(`${root}/snap/linked.txt`),
        () => collect(storage.list(`${root}/snap/`)),
        () => storage.put(`${root}/k=v/part-0.parquet`, "written through?"),
        () => storage.get(`${root}/k=v/secret.txt`),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OutsideRootError);
        expect((error as OutsideRootError).realPath).toContain(outside);
        expect((error as Error).message).toContain("symbolic link");
      }
      expect(await readdir(outside)).toEqual(["secret.txt"]);
    });

    it("a symbolic link inside the root is followed: listed under its own name, readable", async () => {
      await storage.put(`${root}/data/a.txt`, "a");
      await symlink(join(root, "data"), join(root, "alias"));
      expect(await collect(storage.list(`${root}/alias/`))).toEqual([`file://${root}/alias/a.txt`]);
      expect((await storage.get(`${root}/alias/a.txt`)).toString()).toBe("a");
    });

    it("with read and write roots, reads may use either and writes only the write roots", async () => {
      const snapshot = join(parent, "snapshot");
      await mkdir(snapshot);
      await writeFile(join(snapshot, "a.csv"), "id\n1\n");
      const split = new LocalStorage({ read: [snapshot], write: [root] });
      expect((await split.get(`${snapshot}/a.csv`)).toString()).toBe("id\n1\n");
      await split.put(`${root}/out.txt`, "ok");
      expect((await split.get(`${root}/out.txt`)).toString()).toBe("ok");
      for (const attempt of [
        () => split.put(`${snapshot}/b.csv`, "no"),
        () => split.delete([`${snapshot}/a.csv`]),
        () => split.get(`${parent}/elsewhere.txt`),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OutsideRootError);
      }
      expect(await readdir(snapshot)).toEqual(["a.csv"]);
    });

    it("keys joined from data can't be absolute or climb", () => {
      expect(() => joinUri(`file://${root}/`, "/etc/passwd")).toThrow(InvalidUriError);
      expect(() => joinUri(`file://${root}/`, "a/../../b")).toThrow(InvalidUriError);
    });

    it("a folder URI is not an object", async () => {
      await expect(storage.put(`file://${root}/dir/`, "x")).rejects.toBeInstanceOf(InvalidUriError);
      await expect(storage.get(`file://${root}`)).rejects.toBeInstanceOf(InvalidUriError);
    });
  });

  it("plain paths and file:// URIs name the same objects; listings use file:// URIs", async () => {
    await storage.put(join(root, "plain", "x.json"), "[1]");
    expect((await storage.get(`file://${root}/plain/x.json`)).toString()).toBe("[1]");
    expect(await collect(storage.list(join(root, "plain")))).toEqual([`file://${root}/plain/x.json`]);
  });

  it("lists in S3 key order (UTF-8 bytes), not directory-walk or UTF-16 order", async () => {
    // "-" (0x2D) < "." (0x2E) < "/" (0x2F) < "0": the folder "a" sorts between "a.b" and "a0".
    // U+FF61 is one UTF-16 unit above the surrogates of U+1F600, but fewer UTF-8 bytes sort first.
    const keys = ["a-b", "a.b", "a/b", "a/c/d", "a0", "\uFF61", "\u{1F600}"];
    for (const key of [...keys].reverse()) await storage.put(`${root}/k/${key}`, key);
    expect(await collect(storage.list(`${root}/k`))).toEqual(keys.map((key) => `file://${root}/k/${key}`));
  });

  it("etags follow content changed behind the store's back", async () => {
    const uri = `file://${root}/etag/data.bin`;
    await storage.put(uri, "version one");
    expect((await storage.head(uri)).etag).toBe(md5("version one"));

    await writeFile(join(root, "etag/data.bin"), "version two, longer");
    expect((await storage.head(uri)).etag).toBe(md5("version two, longer"));

    // Same size, different bytes: the changed mtime invalidates the cached digest.
    await writeFile(join(root, "etag/data.bin"), "version 3, longer!!");
    const later = new Date(Date.now() + 5000);
    await utimes(join(root, "etag/data.bin"), later, later);
    expect((await storage.head(uri)).etag).toBe(md5("version 3, longer!!"));
    const [listed] = await (async () => {
      const out: ObjectInfo[] = [];
      for await (const info of storage.list(`${root}/etag`)) out.push(info);
      return out;
    })();
    expect(listed?.etag).toBe(md5("version 3, longer!!"));
  });

  it("a get with ifMatch trusts the cached etag only while size and mtime are the cached ones", async () => {
    const uri = `file://${root}/etag-get/data.bin`;
    const first = await storage.put(uri, "version one");
    expect((await storage.get(uri, { ifMatch: first.etag })).toString()).toBe("version one");

    // Same size, different bytes, written behind the store's back: the new mtime means the bytes are hashed.
    await writeFile(join(root, "etag-get/data.bin"), "version two");
    const later = new Date(Date.now() + 5000);
    await utimes(join(root, "etag-get/data.bin"), later, later);
    const error = await storage.get(uri, { ifMatch: first.etag }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "OBJECT_CHANGED", actualEtag: md5("version two") });
  });

  it("has no empty folders: listFolders skips them and delete prunes the ones it empties", async () => {
    await mkdir(join(root, "t/empty-leftover"), { recursive: true });
    await storage.put(`${root}/t/dt=1/x/y/part-0`, "0");
    await storage.put(`${root}/t/dt=2/part-0`, "0");
    expect(await storage.listFolders(`${root}/t`)).toEqual([
      `file://${root}/t/dt=1/`,
      `file://${root}/t/dt=2/`,
    ]);

    await storage.delete([`${root}/t/dt=1/x/y/part-0`]);
    expect(existsSync(join(root, "t/dt=1"))).toBe(false);
    expect(await storage.listFolders(`${root}/t`)).toEqual([`file://${root}/t/dt=2/`]);
    await storage.delete([`${root}/t/dt=2/part-0`]);
    expect(existsSync(root)).toBe(true);
  });

  it("via createStorage without a root: any absolute path, still no '..'", async () => {
    const anywhere = createStorage();
    await anywhere.put(join(parent, "free", "a.txt"), "free");
    expect(await readFile(join(parent, "free", "a.txt"), "utf8")).toBe("free");
    await expect(anywhere.get(`${parent}/free/../free/a.txt`)).rejects.toBeInstanceOf(OutsideRootError);
    await expect(anywhere.get("gs://bucket/key")).rejects.toBeInstanceOf(InvalidUriError);
  });
});
