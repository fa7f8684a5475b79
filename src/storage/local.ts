/**
 * Storage on local folders: the embedded default. Every path must stay inside the roots: reads inside the
 * read or write roots, writes and deletes inside the write roots, judged on the real path, so a symbolic
 * link can't lead a read or a write elsewhere. Writes are atomic (temp file in the same folder, fsync,
 * rename; `link` for create-only writes), so a crash never leaves a partial file under its final name, and temp files never show up in
 * listings; temp names carry their owner process, and the first write into a folder removes the ones a
 * killed process left. Etags are MD5 hex digests of the content, like S3 single-part etags, cached by
 * path + size + mtime so repeated heads and listings don't re-read big files; they are hashed on worker
 * threads (file-md5.ts), and a listing hashes several files ahead so every core has one to hash.
 */
import { createHash } from "node:crypto";
import { type Dirent, constants as fsConstants } from "node:fs";
import {
  copyFile,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rmdir,
  stat,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import pLimit from "p-limit";
import { pMapIterable } from "p-map";
import {
  AccessDeniedError,
  InvalidUriError,
  ObjectChangedError,
  ObjectExistsError,
  ObjectNotFoundError,
  OutsideRootError,
  StorageError,
} from "./errors.js";
import { HASH_THREADS, md5OfFile } from "./file-md5.js";
import { isStaleTemp, ownedTempName } from "./temp-files.js";
import type {
  Body,
  CopyResult,
  GetOptions,
  ObjectInfo,
  ObjectSummary,
  PutOptions,
  PutResult,
  Storage,
} from "./types.js";
import { parseUri } from "./uri.js";

/** Names of in-flight writes; listings skip them. */
export const TEMP_PREFIX = ".snaplake-tmp-";
/** A folder is swept of dead processes' temp files on its first write, and again after this long. */
const SWEEP_INTERVAL_MS = 60_000;
const SWEPT_FOLDERS_LIMIT = 10_000;
const ETAG_CACHE_LIMIT = 100_000;
/** Files a listing stats and hashes ahead of the one it yields: every hashing thread has one, and one queued. */
const LIST_LOOKAHEAD = 2 * HASH_THREADS;
const DELETE_CONCURRENCY = 16;

interface CachedEtag {
  size: bigint;
  mtimeNs: bigint;
  etag: string;
}

/** Where a `LocalStorage` may read and write. */
export interface LocalRoots {
  /** Folders objects may be read from (the write roots are readable too). */
  read: readonly string[];
  /** Folders objects may be written to and deleted from. */
  write: readonly string[];
}

type Access = "read" | "write";

/** A directory entry with symbolic links resolved to what they point at. */
interface Entry {
  name: string;
  path: string;
  kind: "file" | "folder";
}

export class LocalStorage implements Storage {
  /** Absolute root folders, without trailing separators (except for "/" itself). */
  readonly roots: { read: readonly string[]; write: readonly string[] };
  private readonly etags = new Map<string, CachedEtag>();
  private readonly sweptFolders = new Map<string, number>();
  private readonly realRoots = new Map<string, string>();

  /** One root for reads and writes, or separate read and write roots. */
  constructor(roots: string | LocalRoots) {
    const { read, write } = typeof roots === "string" ? { read: [roots], write: [roots] } : roots;
    const writeRoots = unique(write.map((root) => resolve(root)));
    this.roots = { read: unique([...read.map((root) => resolve(root)), ...writeRoots]), write: writeRoots };
  }

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const folder = await this.confinedPath(prefixUri, "read");
    // In key order, with the next files already stat'ed and hashing meanwhile.
    const infos = pMapIterable(this.walk(folder), (path) => this.infoOrNull(path, prefixUri), {
      concurrency: LIST_LOOKAHEAD,
      backpressure: LIST_LOOKAHEAD,
    });
    for await (const info of infos) if (info) yield info;
  }

  async *listSummaries(prefixUri: string): AsyncIterable<ObjectSummary> {
    const folder = await this.confinedPath(prefixUri, "read");
    for await (const path of this.walk(folder)) {
      const stats = await this.statOrNull(path, prefixUri);
      if (stats) yield summaryOf(path, stats);
    }
  }

  async listFolders(folderUri: string): Promise<string[]> {
    const folder = await this.confinedPath(folderUri, "read");
    const folders: string[] = [];
    for (const entry of await this.sortedEntries(folder)) {
      // Like S3, a folder exists only while some object lies below it: skip empty leftovers.
      if (entry.kind === "folder" && (await this.containsObject(entry.path)))
        folders.push(`${fileUri(entry.path)}/`);
    }
    return folders;
  }

  async head(uri: string): Promise<ObjectInfo> {
    const path = await this.confinedObjectPath(uri, "read");
    const info = await this.infoOrNull(path, uri);
    if (!info) throw new ObjectNotFoundError(fileUri(path));
    return info;
  }

  async exists(uri: string): Promise<boolean> {
    const path = await this.confinedObjectPath(uri, "read");
    return (await this.statOrNull(path, fileUri(path))) !== null;
  }

  async get(uri: string, options: GetOptions = {}): Promise<Buffer> {
    const path = await this.confinedObjectPath(uri, "read");
    let bytes: Buffer;
    let etag: string | undefined;
    try {
      const handle = await open(path, "r");
      try {
        if (options.ifMatch === undefined) {
          bytes = await handle.readFile();
        } else {
          const before = await handle.stat({ bigint: true });
          // The etag cached for this size and mtime (step 0 hashed the file) is the bytes' etag, as for
          // heads and listings; else a thread hashes the same open file while it is read here.
          const cached = this.cachedEtag(path, before.size, before.mtimeNs);
          const hashing = cached === undefined ? md5OfFile(handle.fd) : undefined;
          try {
            bytes = await handle.readFile();
          } finally {
            await hashing?.catch(() => {}); // the thread reads the descriptor until then: close it after
          }
          const after = await handle.stat({ bigint: true });
          // Changed while read: the thread may have read other bytes; only the bytes read here count.
          const unchanged = before.size === after.size && before.mtimeNs === after.mtimeNs;
          if (unchanged) {
            etag = cached ?? (await (hashing as Promise<string>));
            this.rememberEtag(path, { size: after.size, mtimeNs: after.mtimeNs, etag });
          }
        }
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw localError(error, fileUri(path));
    }
    if (options.ifMatch !== undefined) {
      etag ??= createHash("md5").update(bytes).digest("hex");
      if (etag !== options.ifMatch) throw new ObjectChangedError(fileUri(path), options.ifMatch, etag);
    }
    return bytes;
  }

  async getRange(uri: string, start: number, end: number): Promise<Buffer> {
    const path = await this.confinedObjectPath(uri, "read");
    try {
      const handle = await open(path, "r");
      try {
        const buffer = Buffer.alloc(Math.max(0, end - start));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw localError(error, fileUri(path));
    }
  }

  async getStream(uri: string): Promise<Readable> {
    const path = await this.confinedObjectPath(uri, "read");
    try {
      // Open first so a missing file fails here, typed, rather than later as a stream 'error' event.
      const handle = await open(path, "r");
      const isFile = await handle.stat().then(
        (stats) => stats.isFile(),
        () => false,
      );
      if (!isFile) {
        await handle.close();
        throw new ObjectNotFoundError(fileUri(path));
      }
      return handle.createReadStream();
    } catch (error) {
      throw localError(error, fileUri(path));
    }
  }

  async put(uri: string, body: Body, _options?: PutOptions): Promise<PutResult> {
    // Content-Type and metadata have nowhere to live on a plain file; the extension carries the type.
    return this.publish(uri, body, (temp, path) => rename(temp, path));
  }

  async putIfAbsent(
    uri: string,
    body: Buffer | Uint8Array | string,
    _options?: PutOptions,
  ): Promise<PutResult> {
    // link() fails with EEXIST when the name is taken: unlike rename, it never replaces an existing file.
    return this.publish(uri, body, async (temp, path) => {
      try {
        await link(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new ObjectExistsError(fileUri(path));
        throw error;
      }
      await unlink(temp);
    });
  }

  async copy(fromUri: string, toUri: string): Promise<CopyResult> {
    const from = await this.confinedObjectPath(fromUri, "read");
    const path = await this.confinedObjectPath(toUri, "write");
    const folder = dirname(path);
    const temp = join(folder, ownedTempName(TEMP_PREFIX));
    try {
      const source = await stat(from);
      if (!source.isFile()) throw new ObjectNotFoundError(fileUri(from));
      await mkdir(folder, { recursive: true });
      await this.confine(folder, "write", toUri);
      await this.sweepStaleTemps(folder);
      // A hard link costs no bytes and no time; the rename then replaces the target atomically. Writes
      // never change a file in place (temp file + rename), so the two names can't drift apart.
      try {
        await link(from, temp);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw error;
        await copyFile(from, temp, fsConstants.COPYFILE_EXCL);
      }
      await rename(temp, path);
      return { uri: fileUri(path), size: Number(source.size) };
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw localError(error, fileUri(from));
    }
  }

  /** Writes the body to a temp file in the target folder, durably, then lets `move` give it its name. */
  private async publish(
    uri: string,
    body: Body,
    move: (temp: string, path: string) => Promise<void>,
  ): Promise<PutResult> {
    const path = await this.confinedObjectPath(uri, "write");
    const folder = dirname(path);
    const temp = join(folder, ownedTempName(TEMP_PREFIX));
    const hash = createHash("md5");
    let size = 0;
    try {
      await mkdir(folder, { recursive: true });
      // mkdir may have followed a link swapped in since the check: check the folder it made again.
      await this.confine(folder, "write", uri);
      await this.sweepStaleTemps(folder);
      const handle = await open(temp, "wx");
      try {
        for await (const chunk of chunksOf(body)) {
          const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
          hash.update(bytes);
          size += bytes.length;
          await writeFully(handle, bytes);
        }
        // Durable before it becomes visible: the move must never publish a file whose bytes aren't on disk.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await move(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      if (body instanceof Readable) body.destroy(); // as on S3: a failed put releases its source
      throw localError(error, fileUri(path), "write");
    }
    const etag = hash.digest("hex");
    const stats = await statBig(path);
    this.rememberEtag(path, { size: stats.size, mtimeNs: stats.mtimeNs, etag });
    return { uri: fileUri(path), etag, size };
  }

  async delete(uris: readonly string[]): Promise<void> {
    // Resolve every URI first so one bad key rejects the whole call before anything is removed.
    const paths = await Promise.all(uris.map((uri) => this.confinedObjectPath(uri, "write")));
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(
      paths.map((path) =>
        limit(async () => {
          try {
            await unlink(path);
          } catch (error) {
            if (!isMissing(error)) throw localError(error, fileUri(path));
          }
          this.etags.delete(path);
        }),
      ),
    );
    // S3 has no empty folders; prune the ones the deletes left behind so listFolders agrees.
    for (const folder of new Set(paths.map((path) => dirname(path)))) await this.pruneEmptyFolders(folder);
  }

  /**
   * The absolute path of a URI inside the roots for `access`, its real path (symbolic links followed)
   * inside them too; throws OutsideRootError for ".." segments, paths outside and links leading outside.
   */
  private async confinedPath(uri: string, access: Access): Promise<string> {
    const parsed = parseUri(uri);
    if (parsed.scheme !== "file") throw new InvalidUriError(uri, "not a local path (LocalStorage)");
    const roots = this.roots[access];
    const rawPath = uri.startsWith("file://") ? parsed.path : uri;
    if (rawPath.split(/[\\/]/).includes("..")) throw new OutsideRootError(uri, roots);
    const path = resolve(parsed.path);
    if (!roots.some((root) => isInside(path, root))) throw new OutsideRootError(uri, roots);
    await this.confine(path, access, uri);
    return path;
  }

  /** Like confinedPath, for a single object: a root itself or a folder URI is not an object. */
  private async confinedObjectPath(uri: string, access: Access): Promise<string> {
    const path = await this.confinedPath(uri, access);
    if (this.roots.read.includes(path) || uri.endsWith("/"))
      throw new InvalidUriError(uri, "names a folder, not an object");
    return path;
  }

  /** Throws OutsideRootError unless the real path of `path` lies inside the real path of a root. */
  private async confine(path: string, access: Access, uri: string): Promise<void> {
    const roots = this.roots[access];
    if (roots.includes(sep)) return;
    const real = await realPathOf(path);
    const realRoots = await Promise.all(roots.map((root) => this.realRoot(root)));
    if (!realRoots.some((root) => isInside(real, root))) throw new OutsideRootError(uri, roots, real);
  }

  /** A root's real path, remembered once the root exists (until then, its nearest existing folder's). */
  private async realRoot(root: string): Promise<string> {
    const known = this.realRoots.get(root);
    if (known !== undefined) return known;
    const real = await realpath(root).catch(() => undefined);
    if (real !== undefined) this.realRoots.set(root, real);
    return real ?? realPathOf(root);
  }

  /**
   * Removes the temp files of writes that will never finish (their process is gone, or they are old), once
   * per folder now and then: a killed process runs no cleanup of its own.
   */
  private async sweepStaleTemps(folder: string): Promise<void> {
    const now = Date.now();
    const last = this.sweptFolders.get(folder);
    if (last !== undefined && now - last < SWEEP_INTERVAL_MS) return;
    if (this.sweptFolders.size >= SWEPT_FOLDERS_LIMIT) this.sweptFolders.clear();
    this.sweptFolders.set(folder, now);
    const names = await readdir(folder).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name.startsWith(TEMP_PREFIX))
        .map(async (name) => {
          const path = join(folder, name);
          const stats = await lstat(path).catch(() => null);
          if (stats?.isFile() && isStaleTemp(TEMP_PREFIX, name, stats.mtimeMs, now))
            await unlink(path).catch(() => {}); // another process may have removed it first
        }),
    );
  }

  /** The file's stats, or null when it is absent or not a file. */
  private async statOrNull(path: string, uriForErrors: string): Promise<FileStats | null> {
    try {
      const stats = await statBig(path);
      return stats.isFile() ? stats : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw localError(error, uriForErrors);
    }
  }

  private async infoOrNull(path: string, uriForErrors: string): Promise<ObjectInfo | null> {
    const stats = await this.statOrNull(path, uriForErrors);
    if (!stats) return null;
    return { ...summaryOf(path, stats), etag: await this.etagOf(path, stats.size, stats.mtimeNs) };
  }

  /** The etag hashed earlier for this file at this size and mtime, if any. */
  private cachedEtag(path: string, size: bigint, mtimeNs: bigint): string | undefined {
    const cached = this.etags.get(path);
    return cached && cached.size === size && cached.mtimeNs === mtimeNs ? cached.etag : undefined;
  }

  private async etagOf(path: string, size: bigint, mtimeNs: bigint): Promise<string> {
    const cached = this.cachedEtag(path, size, mtimeNs);
    if (cached !== undefined) return cached;
    let etag: string;
    try {
      etag = await md5OfFile(path);
    } catch (error) {
      throw localError(error, fileUri(path));
    }
    this.rememberEtag(path, { size, mtimeNs, etag });
    return etag;
  }

  private rememberEtag(path: string, entry: CachedEtag): void {
    this.etags.delete(path);
    this.etags.set(path, entry);
    if (this.etags.size > ETAG_CACHE_LIMIT) {
      const oldest = this.etags.keys().next().value;
      if (oldest !== undefined) this.etags.delete(oldest);
    }
  }

  /**
   * Every file below `folder`, in S3 key order (UTF-8 bytes). Visiting siblings sorted by name, with "/"
   * appended to folder names, yields that order without collecting the whole tree: every key inside folder
   * `d` starts with `d/`, and no file name contains "/".
   */
  private async *walk(folder: string, visiting = new Set<string>()): AsyncGenerator<string> {
    const real = await realPathOf(folder);
    if (visiting.has(real)) {
      throw new StorageError(
        "LOCAL_LINK_LOOP",
        fileUri(folder),
        `${fileUri(folder)} is a symbolic link back to a folder above it (${real}): remove the link`,
      );
    }
    visiting.add(real);
    for (const entry of await this.sortedEntries(folder)) {
      if (entry.kind === "folder") yield* this.walk(entry.path, visiting);
      else yield entry.path;
    }
    visiting.delete(real);
  }

  /** Files and folders in S3 key order; links followed (inside the read roots only), temp files left out. */
  private async sortedEntries(folder: string): Promise<Entry[]> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      // A missing folder is an empty prefix, as on S3; a file where a folder was expected too.
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return [];
      throw localError(error, fileUri(folder));
    }
    const entries: Entry[] = [];
    for (const dirent of dirents) {
      if (dirent.name.startsWith(TEMP_PREFIX)) continue;
      const path = join(folder, dirent.name);
      if (dirent.isDirectory()) entries.push({ name: dirent.name, path, kind: "folder" });
      else if (dirent.isFile()) entries.push({ name: dirent.name, path, kind: "file" });
      else if (dirent.isSymbolicLink()) {
        const target = await this.linkTarget(path);
        if (target) entries.push({ name: dirent.name, path, kind: target });
      }
    }
    const sortKey = (entry: Entry) => Buffer.from(entry.kind === "folder" ? `${entry.name}/` : entry.name);
    return entries
      .map((entry) => ({ entry, key: sortKey(entry) }))
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map(({ entry }) => entry);
  }

  /** What a link found in a listing points at; a link leading outside the read roots fails the listing. */
  private async linkTarget(path: string): Promise<Entry["kind"] | null> {
    await this.confine(path, "read", fileUri(path));
    try {
      const stats = await stat(path);
      return stats.isDirectory() ? "folder" : stats.isFile() ? "file" : null;
    } catch (error) {
      if (isMissing(error)) return null; // a dangling link holds no object, as S3 would have none
      throw localError(error, fileUri(path));
    }
  }

  private async containsObject(folder: string): Promise<boolean> {
    for await (const _ of this.walk(folder)) return true;
    return false;
  }

  private async pruneEmptyFolders(start: string): Promise<void> {
    let folder = start;
    const roots = this.roots.write;
    while (!roots.includes(folder) && roots.some((root) => isInside(folder, root))) {
      try {
        await rmdir(folder);
      } catch {
        return; // not empty (or already gone, or not ours to remove): stop climbing
      }
      folder = dirname(folder);
    }
  }
}

function fileUri(path: string): string {
  return `file://${path}`;
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === sep ? sep : root + sep);
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}

/** The real path of `path`, or for a path not there yet, of its nearest existing folder plus the rest. */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const parent = dirname(path);
    if ((code !== "ENOENT" && code !== "ENOTDIR") || parent === path) return path;
    return join(await realPathOf(parent), basename(path));
  }
}

type FileStats = Awaited<ReturnType<typeof statBig>>;

function summaryOf(path: string, stats: FileStats): ObjectSummary {
  return {
    uri: fileUri(path),
    size: Number(stats.size),
    lastModified: new Date(Number(stats.mtimeNs / 1_000_000n)),
    storageClass: "STANDARD",
  };
}

function statBig(path: string) {
  return stat(path, { bigint: true });
}

/** The body's bytes in chunks: a stream as it comes, anything else as itself (a Buffer is not copied). */
function chunksOf(body: Body): AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> {
  return body instanceof Readable ? body : [body];
}

async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset);
    offset += bytesWritten;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT";
}

/** Maps a file-system error to the storage errors callers handle; anything else keeps its cause. */
function localError(error: unknown, uri: string, operation: "read" | "write" = "read"): Error {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const missing = code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR";
  if (missing && operation === "read") return new ObjectNotFoundError(uri, { cause: error });
  if (code === "EACCES" || code === "EPERM") return new AccessDeniedError(uri, { cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  return new StorageError("LOCAL_IO_FAILED", uri, `Local storage failed on ${uri}: ${reason}`, {
    cause: error,
  });
}
