/**
 * Storage on a local folder: the embedded default. Every path must stay inside `root`; writes are atomic
 * (temp file in the same folder, fsync, rename; `link` for create-only writes), so a crash never leaves a partial file under its final
 * name, and temp files never show up in listings. Etags are MD5 hex digests of the content, like S3
 * single-part etags, cached by path + size + mtime so repeated heads and listings don't re-read big files.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, type Dirent } from "node:fs";
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  unlink,
} from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pLimit from "p-limit";
import {
  AccessDeniedError,
  InvalidUriError,
  ObjectExistsError,
  ObjectNotFoundError,
  OutsideRootError,
  StorageError,
} from "./errors.js";
import type { Body, ObjectInfo, ObjectSummary, PutOptions, PutResult, Storage } from "./types.js";
import { parseUri } from "./uri.js";

/** Names of in-flight writes; listings skip them. */
const TEMP_PREFIX = ".snaplake-tmp-";
const ETAG_CACHE_LIMIT = 100_000;
/** Read size for hashing: with the stream default (64 KiB), step 0 spent ~40% of its MD5 time on chunks. */
const HASH_CHUNK_BYTES = 1024 * 1024;
const DELETE_CONCURRENCY = 16;

interface CachedEtag {
  size: bigint;
  mtimeNs: bigint;
  etag: string;
}

export class LocalStorage implements Storage {
  /** Absolute root folder, without a trailing separator (except for "/" itself). */
  readonly root: string;
  private readonly etags = new Map<string, CachedEtag>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const folder = this.resolvePath(prefixUri);
    for await (const path of this.walk(folder)) {
      const info = await this.infoOrNull(path, prefixUri);
      if (info) yield info;
    }
  }

  async *listSummaries(prefixUri: string): AsyncIterable<ObjectSummary> {
    const folder = this.resolvePath(prefixUri);
    for await (const path of this.walk(folder)) {
      const stats = await this.statOrNull(path, prefixUri);
      if (stats) yield summaryOf(path, stats);
    }
  }

  async listFolders(folderUri: string): Promise<string[]> {
    const folder = this.resolvePath(folderUri);
    const folders: string[] = [];
    for (const entry of await this.sortedEntries(folder)) {
      const path = join(folder, entry.name);
      // Like S3, a folder exists only while some object lies below it: skip empty leftovers.
      if (entry.isDirectory() && (await this.containsObject(path))) folders.push(`${fileUri(path)}/`);
    }
    return folders;
  }

  async head(uri: string): Promise<ObjectInfo> {
    const path = this.resolveObjectPath(uri);
    const info = await this.infoOrNull(path, uri);
    if (!info) throw new ObjectNotFoundError(fileUri(path));
    return info;
  }

  async exists(uri: string): Promise<boolean> {
    const path = this.resolveObjectPath(uri);
    return (await this.statOrNull(path, fileUri(path))) !== null;
  }

  async get(uri: string): Promise<Buffer> {
    const path = this.resolveObjectPath(uri);
    try {
      return await readFile(path);
    } catch (error) {
      throw localError(error, fileUri(path));
    }
  }

  async getRange(uri: string, start: number, end: number): Promise<Buffer> {
    const path = this.resolveObjectPath(uri);
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
    const path = this.resolveObjectPath(uri);
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

  /** Writes the body to a temp file in the target folder, durably, then lets `move` give it its name. */
  private async publish(
    uri: string,
    body: Body,
    move: (temp: string, path: string) => Promise<void>,
  ): Promise<PutResult> {
    const path = this.resolveObjectPath(uri);
    const folder = dirname(path);
    const temp = join(folder, `${TEMP_PREFIX}${randomUUID()}`);
    const hash = createHash("md5");
    let size = 0;
    try {
      await mkdir(folder, { recursive: true });
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
    const paths = uris.map((uri) => this.resolveObjectPath(uri));
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

  /** The absolute path of a URI inside the root; throws OutsideRootError for ".." segments or paths outside. */
  private resolvePath(uri: string): string {
    const parsed = parseUri(uri);
    if (parsed.scheme !== "file") throw new InvalidUriError(uri, "not a local path (LocalStorage)");
    const rawPath = uri.startsWith("file://") ? parsed.path : uri;
    if (rawPath.split(/[\\/]/).includes("..")) throw new OutsideRootError(uri, this.root);
    const path = resolve(parsed.path);
    if (path !== this.root && !path.startsWith(this.root === sep ? sep : this.root + sep)) {
      throw new OutsideRootError(uri, this.root);
    }
    return path;
  }

  /** Like resolvePath, for a single object: the root itself or a folder URI is not an object. */
  private resolveObjectPath(uri: string): string {
    const path = this.resolvePath(uri);
    if (path === this.root || uri.endsWith("/"))
      throw new InvalidUriError(uri, "names a folder, not an object");
    return path;
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

  private async etagOf(path: string, size: bigint, mtimeNs: bigint): Promise<string> {
    const cached = this.etags.get(path);
    if (cached && cached.size === size && cached.mtimeNs === mtimeNs) return cached.etag;
    const hash = createHash("md5");
    await pipeline(createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES }), hash);
    const etag = hash.digest("hex");
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
  private async *walk(folder: string): AsyncGenerator<string> {
    for (const entry of await this.sortedEntries(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) yield* this.walk(path);
      else if (entry.isFile()) yield path;
    }
  }

  private async sortedEntries(folder: string): Promise<Dirent[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      // A missing folder is an empty prefix, as on S3; a file where a folder was expected too.
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return [];
      throw localError(error, fileUri(folder));
    }
    const visible = entries.filter((entry) => !entry.name.startsWith(TEMP_PREFIX));
    const sortKey = (entry: Dirent) => Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name);
    return visible
      .map((entry) => ({ entry, key: sortKey(entry) }))
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map(({ entry }) => entry);
  }

  private async containsObject(folder: string): Promise<boolean> {
    for await (const _ of this.walk(folder)) return true;
    return false;
  }

  private async pruneEmptyFolders(start: string): Promise<void> {
    let folder = start;
    while (folder !== this.root && folder.startsWith(this.root)) {
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
