import type { Readable } from "node:stream";

/** What `listSummaries` returns about one object. `uri` is absolute (`s3://bucket/key` or `file:///abs/path`). */
export interface ObjectSummary {
  uri: string;
  size: number;
  lastModified: Date;
  /** S3 storage class (`STANDARD`, `GLACIER`, `DEEP_ARCHIVE`, ...); local objects are `STANDARD`. */
  storageClass: string;
}

/** What a listing or head returns about one object: its summary and its etag. */
export interface ObjectInfo extends ObjectSummary {
  /** S3's ETag without quotes; on local folders the MD5 hex digest of the content. Never empty. */
  etag: string;
}

export interface PutOptions {
  /** Defaults from the file extension (Parquet, JSON, NDJSON, TSV, gzip), else application/octet-stream. */
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface PutResult {
  uri: string;
  etag: string;
  size: number;
}

export interface CopyResult {
  uri: string;
  size: number;
}

export interface GetOptions {
  /**
   * The etag the object must still have: S3 reads with `If-Match` (and checks the answer's ETag); a local
   * folder hashes the bytes it read. A different object fails with `ObjectChangedError`.
   */
  ifMatch?: string;
}

export type Body = Buffer | Uint8Array | string | Readable;

/**
 * One small interface over object URIs, implemented for S3 and for local folders.
 * Folder URIs may be given with or without a trailing slash; listings are recursive and in key order.
 */
export interface Storage {
  /** Every object under the folder `prefixUri`, following every page. */
  list(prefixUri: string): AsyncIterable<ObjectInfo>;
  /** Like `list`, without etags: a local folder then reads no file to hash it (S3 lists them anyway). */
  listSummaries(prefixUri: string): AsyncIterable<ObjectSummary>;
  /** Immediate sub-folders of `folderUri`, as absolute URIs with a trailing slash, in key order. */
  listFolders(folderUri: string): Promise<string[]>;
  /** Throws `ObjectNotFoundError` when absent. */
  head(uri: string): Promise<ObjectInfo>;
  exists(uri: string): Promise<boolean>;
  get(uri: string, options?: GetOptions): Promise<Buffer>;
  getStream(uri: string): Promise<Readable>;
  /** Bytes `start` (inclusive) to `end` (exclusive) of an object, e.g. a Parquet footer. */
  getRange(uri: string, start: number, end: number): Promise<Buffer>;
  /** Atomic on local folders (temp file + rename); multipart on S3 for large or streamed bodies. */
  put(uri: string, body: Body, options?: PutOptions): Promise<PutResult>;
  /**
   * Creates the object only if no object has that URI yet, else throws `ObjectExistsError` and leaves the
   * existing one untouched. Local folders: temp file + `link()` (fails on an existing name, never replaces
   * it). S3: `PutObject` with `If-None-Match: *`, which AWS S3 enforces; s3rver ignores the header, so there
   * the put simply overwrites. Small bodies only (one request, no multipart).
   */
  putIfAbsent(uri: string, body: Buffer | Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  /**
   * Copies an object to `toUri` without reading it into memory, replacing what was there (atomically on
   * local folders). Local folders: a hard link (a copy across devices); S3: `CopyObject`, a multipart copy
   * above 5 GB. Between backends (local to S3 or back) the bytes are streamed.
   */
  copy(fromUri: string, toUri: string): Promise<CopyResult>;
  /** Deletes every URI given; absent objects are not an error. */
  delete(uris: readonly string[]): Promise<void>;
}
