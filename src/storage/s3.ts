/**
 * Storage on S3 (and S3-compatible servers) through the AWS SDK v3. Small Buffers go up with one
 * PutObject; large or streamed bodies through lib-storage's multipart `Upload`. SDK errors become the
 * typed storage errors, naming the URI.
 */
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import pLimit from "p-limit";
import {
  AccessDeniedError,
  BucketNotFoundError,
  InvalidUriError,
  ObjectChangedError,
  ObjectExistsError,
  ObjectNotFoundError,
  StorageError,
} from "./errors.js";
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
import { asFolder, contentTypeFor, parseUri } from "./uri.js";

/** Buffers at least this large, and every stream, go through multipart upload. */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/** 8 MiB parts allow objects up to ~80 GB (10,000 parts); 4 in flight bound memory to ~32 MiB per upload. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/** CopyObject's limit; larger objects are copied in parts of 512 MiB (at most 10,000 parts: ~5 TB). */
const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;
/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;
const DELETE_BATCHES_IN_FLIGHT = 4;

interface S3Location {
  bucket: string;
  key: string;
}

export class S3Storage implements Storage {
  constructor(readonly client: S3Client) {}

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const { bucket, key } = s3Location(prefixUri);
    const pages = paginateListObjectsV2(
      { client: this.client },
      { Bucket: bucket, Prefix: folderPrefix(key) },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield {
            uri: s3Uri(bucket, object.Key),
            size: object.Size ?? 0,
            etag: unquote(object.ETag),
            lastModified: object.LastModified ?? new Date(0),
            storageClass: object.StorageClass ?? "STANDARD",
          };
        }
      }
    } catch (error) {
      throw mapS3Error(error, prefixUri, bucket, "ListObjectsV2");
    }
  }

  async *listSummaries(prefixUri: string): AsyncIterable<ObjectSummary> {
    // The same request (S3 lists etags at no extra cost); the summary has the same shape on every backend.
    for await (const { etag: _, ...summary } of this.list(prefixUri)) yield summary;
  }

  async listFolders(folderUri: string): Promise<string[]> {
    const { bucket, key } = s3Location(folderUri);
    const input = { Bucket: bucket, Prefix: folderPrefix(key), Delimiter: "/" };
    const folders: string[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, input)) {
        for (const common of page.CommonPrefixes ?? []) {
          if (common.Prefix !== undefined) folders.push(s3Uri(bucket, common.Prefix));
        }
      }
    } catch (error) {
      throw mapS3Error(error, folderUri, bucket, "ListObjectsV2");
    }
    return folders;
  }

  async head(uri: string): Promise<ObjectInfo> {
    const { bucket, key } = objectLocation(uri);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        uri: s3Uri(bucket, key),
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        lastModified: out.LastModified ?? new Date(0),
        storageClass: out.StorageClass ?? "STANDARD",
      };
    } catch (error) {
      throw await this.refineNotFound(mapS3Error(error, uri, bucket, "HeadObject"), bucket);
    }
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await this.head(uri);
      return true;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return false;
      throw error;
    }
  }

  async get(uri: string, options: GetOptions = {}): Promise<Buffer> {
    const body = await this.getBody(uri, undefined, options.ifMatch);
    const bytes = await body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async getRange(uri: string, start: number, end: number): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    const body = await this.getBody(uri, `bytes=${start}-${end - 1}`);
    const bytes = await body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async getStream(uri: string): Promise<Readable> {
    const body = await this.getBody(uri);
    if (body instanceof Readable) return body;
    throw new StorageError(
      "S3_REQUEST_FAILED",
      uri,
      `GetObject ${uri} returned a body that is not a Node stream`,
    );
  }

  async put(uri: string, body: Body, options: PutOptions = {}): Promise<PutResult> {
    const { bucket, key } = objectLocation(uri);
    const params = {
      Bucket: bucket,
      Key: key,
      ContentType: options.contentType ?? contentTypeFor(key),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
    };
    try {
      if (!(body instanceof Readable)) {
        const bytes = typeof body === "string" ? Buffer.from(body) : body;
        if (bytes.byteLength < MULTIPART_THRESHOLD) {
          const out = await this.client.send(
            new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.byteLength }),
          );
          return { uri: s3Uri(bucket, key), etag: unquote(out.ETag), size: bytes.byteLength };
        }
        return await this.upload(params, bytes, bytes.byteLength);
      }
      return await this.uploadStream(params, body);
    } catch (error) {
      throw mapS3Error(error, uri, bucket, "PutObject");
    }
  }

  /**
   * `If-None-Match: *`: AWS S3 answers 412 when the key exists, and 409 when another conditional write to
   * it is in flight; both mean "not created by this call". s3rver does not enforce the header.
   */
  async putIfAbsent(
    uri: string,
    body: Buffer | Uint8Array | string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const { bucket, key } = objectLocation(uri);
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: options.contentType ?? contentTypeFor(key),
          IfNoneMatch: "*",
          ...(options.metadata ? { Metadata: options.metadata } : {}),
        }),
      );
      return { uri: s3Uri(bucket, key), etag: unquote(out.ETag), size: bytes.byteLength };
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) throw new ObjectExistsError(uri, { cause: error });
      throw mapS3Error(error, uri, bucket, "PutObject");
    }
  }

  async copy(fromUri: string, toUri: string): Promise<CopyResult> {
    const from = objectLocation(fromUri);
    const to = objectLocation(toUri);
    const source = await this.head(fromUri);
    const copySource = encodeURI(`${from.bucket}/${from.key}`);
    try {
      if (source.size <= MAX_SINGLE_COPY_BYTES) {
        await this.client.send(
          new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource: copySource }),
        );
      } else {
        await this.multipartCopy(copySource, source.size, to);
      }
    } catch (error) {
      throw mapS3Error(error, toUri, to.bucket, "CopyObject");
    }
    return { uri: s3Uri(to.bucket, to.key), size: source.size };
  }

  /** CopyObject takes at most 5 GB: larger objects are copied part by part (UploadPartCopy), server side. */
  private async multipartCopy(copySource: string, size: number, to: S3Location): Promise<void> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: to.bucket,
        Key: to.key,
        ContentType: contentTypeFor(to.key),
      }),
    );
    const uploadId = created.UploadId;
    try {
      const limit = pLimit(PARTS_IN_FLIGHT);
      const count = Math.ceil(size / COPY_PART_BYTES);
      const parts = await Promise.all(
        Array.from({ length: count }, (_, index) =>
          limit(async () => {
            const start = index * COPY_PART_BYTES;
            const end = Math.min(size, start + COPY_PART_BYTES) - 1;
            const out = await this.client.send(
              new UploadPartCopyCommand({
                Bucket: to.bucket,
                Key: to.key,
                UploadId: uploadId,
                PartNumber: index + 1,
                CopySource: copySource,
                CopySourceRange: `bytes=${start}-${end}`,
              }),
            );
            return { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
          }),
        ),
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: to.bucket,
          Key: to.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      // An unfinished multipart upload is billed until aborted.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId: uploadId }))
        .catch(() => {});
      throw error;
    }
  }

  async delete(uris: readonly string[]): Promise<void> {
    const keysByBucket = new Map<string, Set<string>>();
    for (const uri of uris) {
      const { bucket, key } = objectLocation(uri);
      const keys = keysByBucket.get(bucket) ?? new Set<string>();
      keys.add(key);
      keysByBucket.set(bucket, keys);
    }
    const limit = pLimit(DELETE_BATCHES_IN_FLIGHT);
    const batches: Array<Promise<void>> = [];
    for (const [bucket, keySet] of keysByBucket) {
      const keys = [...keySet];
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH);
        batches.push(limit(() => this.deleteBatch(bucket, batch)));
      }
    }
    await Promise.all(batches);
  }

  private async deleteBatch(bucket: string, keys: string[]): Promise<void> {
    const request = new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
    });
    const out = await this.client.send(request).catch((error: unknown) => {
      throw mapS3Error(error, s3Uri(bucket, keys[0] ?? ""), bucket, "DeleteObjects");
    });
    // DeleteObjects answers 200 even when single keys fail; absent keys are not failures.
    const failure = out.Errors?.[0];
    if (failure) {
      const uri = s3Uri(bucket, failure.Key ?? "");
      if (failure.Code === "AccessDenied") throw new AccessDeniedError(uri);
      const count = out.Errors?.length ?? 1;
      throw new StorageError(
        "S3_DELETE_FAILED",
        uri,
        `Deleting ${count} object(s) in s3://${bucket}/ failed, first ${uri}: ${failure.Code} ${failure.Message ?? ""}`.trim(),
      );
    }
  }

  private async getBody(uri: string, range?: string, ifMatch?: string) {
    const { bucket, key } = objectLocation(uri);
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(range ? { Range: range } : {}),
          ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}),
        }),
      );
    } catch (error) {
      if (ifMatch && statusOf(error) === 412) {
        const now = await this.head(uri).then(
          (info) => info.etag,
          () => "(unknown)",
        );
        throw new ObjectChangedError(uri, ifMatch, now, { cause: error });
      }
      throw mapS3Error(error, uri, bucket, "GetObject");
    }
    // Servers that ignore If-Match still answer with the ETag of what they sent.
    if (ifMatch && out.ETag !== undefined && unquote(out.ETag) !== ifMatch) {
      if (out.Body instanceof Readable) out.Body.destroy(); // release the connection: the body is not used
      throw new ObjectChangedError(uri, ifMatch, unquote(out.ETag));
    }
    if (!out.Body) throw new StorageError("S3_REQUEST_FAILED", uri, `GetObject ${uri} returned no body`);
    return out.Body;
  }

  private async upload(
    params: { Bucket: string; Key: string },
    body: Buffer | Uint8Array | Readable,
    size: number,
  ): Promise<PutResult> {
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
    });
    const out = await upload.done();
    return { uri: s3Uri(params.Bucket, params.Key), etag: unquote(out.ETag), size };
  }

  /** Streams have no known length: count the bytes on their way to the multipart upload. */
  private async uploadStream(params: { Bucket: string; Key: string }, body: Readable): Promise<PutResult> {
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer | string, _encoding, callback) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        callback(null, bytes);
      },
    });
    // A failing source destroys `counted`, which fails the upload; a failing upload destroys both.
    const piping = pipeline(body, counted);
    piping.catch(() => {});
    try {
      const result = await this.upload(params, counted, 0);
      await piping;
      return { ...result, size };
    } catch (error) {
      // Blame the source when it failed on its own (a read error); otherwise the upload's error stands,
      // not the premature-close that stopping the source below causes.
      const sourceError = body.errored;
      counted.destroy();
      body.destroy();
      throw sourceError ?? error;
    }
  }

  /** HEAD answers a bodiless 404 for a missing key and for a missing bucket alike: ask the bucket. */
  private async refineNotFound(error: Error, bucket: string): Promise<Error> {
    if (!(error instanceof ObjectNotFoundError)) return error;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (bucketError) {
      if (statusOf(bucketError) === 404)
        return new BucketNotFoundError(bucket, error.uri, { cause: bucketError });
    }
    return error;
  }
}

/**
 * Maps an SDK error to a typed storage error naming the URI: NoSuchBucket → BucketNotFoundError,
 * NoSuchKey / 404 → ObjectNotFoundError, 403 → AccessDeniedError; anything else is wrapped with the
 * operation and URI, keeping the SDK error as `cause`.
 */
export function mapS3Error(error: unknown, uri: string, bucket: string, operation: string): Error {
  if (error instanceof StorageError) return error;
  const name = error instanceof Error ? error.name : "";
  const status = statusOf(error);
  if (name === "NoSuchBucket") return new BucketNotFoundError(bucket, uri, { cause: error });
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
    return new ObjectNotFoundError(uri, { cause: error });
  }
  if (name === "AccessDenied" || status === 403) return new AccessDeniedError(uri, { cause: error });
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new StorageError("S3_REQUEST_FAILED", uri, `${operation} ${uri} failed: ${reason}`, {
    cause: error,
  });
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof S3ServiceException) return error.$metadata?.httpStatusCode;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

function s3Location(uri: string): S3Location {
  const parsed = parseUri(uri);
  if (parsed.scheme !== "s3") throw new InvalidUriError(uri, "not an s3:// URI (S3Storage)");
  return { bucket: parsed.bucket, key: parsed.key };
}

function objectLocation(uri: string): S3Location {
  const location = s3Location(uri);
  if (!location.key) throw new InvalidUriError(uri, "names a bucket, not an object");
  return location;
}

function folderPrefix(key: string): string {
  return key ? asFolder(key) : "";
}

function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}
