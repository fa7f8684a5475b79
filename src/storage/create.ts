/**
 * The storage every step uses: one `Storage` that dispatches each URI by scheme to S3 or to the
 * local folder backend. The S3 client is created on first use, so local-only runs need no AWS setup.
 */
import type { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { createS3Client, type S3ClientOptions } from "../clients/aws.js";
import { type LocalRoots, LocalStorage } from "./local.js";
import { S3Storage } from "./s3.js";
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
import { isS3Uri } from "./uri.js";

export interface CreateStorageOptions {
  /** A ready client, or options for `createS3Client` (endpoint, region, credentials, path style). */
  s3?: S3Client | S3ClientOptions;
  /**
   * Local paths must lie inside this folder (or, given read and write roots, reads inside either and writes
   * inside the write roots), symbolic links included. Defaults to the file-system root "/": then only ".."
   * segments are refused. A project's runtime passes its config's folders (see `openRuntime`).
   */
  localRoot?: string | LocalRoots;
}

export function createStorage(options: CreateStorageOptions = {}): Storage {
  return new RoutingStorage(options);
}

class RoutingStorage implements Storage {
  private s3Backend: S3Storage | undefined;
  private readonly local: LocalStorage;

  constructor(private readonly options: CreateStorageOptions) {
    this.local = new LocalStorage(options.localRoot ?? "/");
  }

  list(prefixUri: string): AsyncIterable<ObjectInfo> {
    return this.backendFor(prefixUri).list(prefixUri);
  }
  listSummaries(prefixUri: string): AsyncIterable<ObjectSummary> {
    return this.backendFor(prefixUri).listSummaries(prefixUri);
  }
  listFolders(folderUri: string): Promise<string[]> {
    return this.backendFor(folderUri).listFolders(folderUri);
  }
  head(uri: string): Promise<ObjectInfo> {
    return this.backendFor(uri).head(uri);
  }
  exists(uri: string): Promise<boolean> {
    return this.backendFor(uri).exists(uri);
  }
  get(uri: string, options?: GetOptions): Promise<Buffer> {
    return this.backendFor(uri).get(uri, options);
  }
  getStream(uri: string): Promise<Readable> {
    return this.backendFor(uri).getStream(uri);
  }
  getRange(uri: string, start: number, end: number): Promise<Buffer> {
    return this.backendFor(uri).getRange(uri, start, end);
  }
  put(uri: string, body: Body, options?: PutOptions): Promise<PutResult> {
    return this.backendFor(uri).put(uri, body, options);
  }
  putIfAbsent(uri: string, body: Buffer | Uint8Array | string, options?: PutOptions): Promise<PutResult> {
    return this.backendFor(uri).putIfAbsent(uri, body, options);
  }

  async copy(fromUri: string, toUri: string): Promise<CopyResult> {
    const from = this.backendFor(fromUri);
    const to = this.backendFor(toUri);
    if (from === to) return from.copy(fromUri, toUri);
    const { uri, size } = await to.put(toUri, await from.getStream(fromUri));
    return { uri, size };
  }

  async delete(uris: readonly string[]): Promise<void> {
    const s3Uris = uris.filter(isS3Uri);
    const localUris = uris.filter((uri) => !isS3Uri(uri));
    await Promise.all([
      s3Uris.length > 0 ? this.s3().delete(s3Uris) : undefined,
      localUris.length > 0 ? this.local.delete(localUris) : undefined,
    ]);
  }

  private backendFor(uri: string): Storage {
    return isS3Uri(uri) ? this.s3() : this.local;
  }

  private s3(): S3Storage {
    if (!this.s3Backend) {
      const { s3 } = this.options;
      this.s3Backend = new S3Storage(s3 instanceof S3Client ? s3 : createS3Client(s3));
    }
    return this.s3Backend;
  }
}
