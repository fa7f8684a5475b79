/** What only the S3 backend promises: stored Content-Type, the multipart path, and the SDK error mapping. */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  HeadObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createS3Client } from "../../src/clients/aws.js";
import { createStorage } from "../../src/storage/create.js";
import {
  AccessDeniedError,
  BucketNotFoundError,
  ObjectNotFoundError,
  StorageError,
} from "../../src/storage/errors.js";
import { MULTIPART_THRESHOLD, mapS3Error, S3Storage } from "../../src/storage/s3.js";
import { createTestBucket, testS3Client } from "../support/clients.js";

/** Records the S3 operations a client sends, to see which upload path a put took. */
function recordCommands(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName).replace(/Command$/, ""));
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  return sent;
}

describe("S3Storage on s3rver", () => {
  let client: S3Client;
  let storage: S3Storage;
  let base: string;
  let sent: string[];

  beforeAll(async () => {
    client = testS3Client();
    sent = recordCommands(client);
    storage = new S3Storage(client);
    base = `s3://${await createTestBucket(client, "s3only")}/`;
  });
  afterAll(() => client.destroy());

  async function storedHeaders(uri: string) {
    const [bucket, ...key] = uri.slice("s3://".length).split("/");
    const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key.join("/") }));
    return { contentType: out.ContentType, contentEncoding: out.ContentEncoding, metadata: out.Metadata };
  }

  it("stores the Content-Type for the extension and never a Content-Encoding", async () => {
    const cases: Array<[string, string]> = [
      ["types/part-0.parquet", "application/vnd.apache.parquet"],
      ["types/manifest.json", "application/json"],
      ["types/events.tsv", "text/tab-separated-values"],
      ["types/events.tsv.gz", "application/gzip"],
      ["types/blob", "application/octet-stream"],
    ];
    for (const [key, type] of cases) {
      await storage.put(base + key, "x");
      expect(await storedHeaders(base + key)).toMatchObject({
        contentType: type,
        contentEncoding: undefined,
      });
    }
  });

  it("stores an explicit Content-Type and metadata, on both upload paths", async () => {
    const options = { contentType: "text/plain", metadata: { source: "snapshot-7" } };
    for (const [key, body] of [
      ["explicit/small.bin", "small"],
      ["explicit/large.bin", randomBytes(MULTIPART_THRESHOLD)],
    ] as const) {
      await storage.put(base + key, body, options);
      expect(await storedHeaders(base + key)).toEqual({
        contentType: "text/plain",
        contentEncoding: undefined,
        metadata: { source: "snapshot-7" },
      });
    }
  });

  it("uploads small Buffers with PutObject and large Buffers and streams as multipart", async () => {
    sent.length = 0;
    await storage.put(`${base}paths/just-below.parquet`, randomBytes(MULTIPART_THRESHOLD - 1));
    expect(sent).toEqual(["PutObject"]);

    sent.length = 0;
    const large = randomBytes(MULTIPART_THRESHOLD + 1);
    await storage.put(`${base}paths/at-threshold.parquet`, large);
    expect(sent[0]).toBe("CreateMultipartUpload");
    expect(sent.filter((name) => name === "UploadPart")).toHaveLength(2);
    expect(sent.at(-1)).toBe("CompleteMultipartUpload");
    expect(await storedHeaders(`${base}paths/at-threshold.parquet`)).toMatchObject({
      contentType: "application/vnd.apache.parquet",
    });

    sent.length = 0;
    const put = await storage.put(`${base}paths/streamed.parquet`, Readable.from([large]));
    expect(sent[0]).toBe("CreateMultipartUpload");
    expect(put.size).toBe(large.length);
    expect((await storage.get(`${base}paths/streamed.parquet`)).equals(large)).toBe(true);
  });

  it("a failing stream body fails the put with the source's error and stores nothing", async () => {
    const uri = `${base}broken/upload.parquet`;
    const body = Readable.from(
      (async function* () {
        yield randomBytes(MULTIPART_THRESHOLD + 1024);
        throw new Error("source dropped");
      })(),
    );
    const error = await storage.put(uri, body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(uri);
    expect((error as Error).message).toContain("source dropped");
    expect(await storage.exists(uri)).toBe(false);
  });

  it("a large stream to a missing bucket fails with BucketNotFoundError, not a stream error", async () => {
    const uri = "s3://no-such-bucket-for-streams/big.parquet";
    const chunk = randomBytes(MULTIPART_THRESHOLD);
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 6; i++) yield chunk;
      })(),
    );
    await expect(storage.put(uri, body)).rejects.toBeInstanceOf(BucketNotFoundError);
    expect(body.destroyed).toBe(true);
  });

  it("maps a real 403 (unknown access key) to AccessDeniedError", async () => {
    const stranger = new S3Storage(
      createS3Client({
        endpoint: inject("servers").s3,
        credentials: { accessKeyId: "NOT-A-KNOWN-KEY", secretAccessKey: "S3RVER" },
        maxAttempts: 1,
      }),
    );
    await storage.put(`${base}private/data.json`, "{}");
    for (const attempt of [
      () => stranger.head(`${base}private/data.json`),
      () => stranger.get(`${base}private/data.json`),
      () => stranger.listFolders(base),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccessDeniedError);
    }
    stranger.client.destroy();
  });

  it("createStorage builds its S3 client from options on first use", async () => {
    const storageFromOptions = createStorage({
      s3: {
        endpoint: inject("servers").s3,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      },
    });
    await storageFromOptions.put(`${base}router/a.json`, "[]");
    expect((await storage.get(`${base}router/a.json`)).toString()).toBe("[]");
    expect(await storageFromOptions.exists(`s3a://${base.slice("s3://".length)}router/a.json`)).toBe(true);
  });
});

// s3rver can't deny access by policy, so the mapping of AccessDenied (and of the other SDK errors) is
// unit-tested here with the SDK's own exception classes, as the SDK would throw them.
describe("mapS3Error", () => {
  const uri = "s3://lake/tbl/part-0.parquet";
  const metadata = (httpStatusCode: number) => ({ httpStatusCode });

  it("maps 403 AccessDenied, and a bodiless 403 on HEAD, to AccessDeniedError naming the URI", () => {
    const denied = new S3ServiceException({
      name: "AccessDenied",
      $fault: "client",
      $metadata: metadata(403),
      message: "Access Denied",
    });
    const headDenied = new S3ServiceException({
      name: "Forbidden",
      $fault: "client",
      $metadata: metadata(403),
    });
    for (const sdkError of [denied, headDenied]) {
      const mapped = mapS3Error(sdkError, uri, "lake", "GetObject");
      expect(mapped).toBeInstanceOf(AccessDeniedError);
      expect(mapped.message).toContain(uri);
      expect((mapped as AccessDeniedError).cause).toBe(sdkError);
    }
  });

  it("maps NoSuchBucket to BucketNotFoundError and NoSuchKey / NotFound to ObjectNotFoundError", () => {
    const noBucket = new NoSuchBucket({
      $metadata: metadata(404),
      message: "The specified bucket does not exist",
    });
    const mappedBucket = mapS3Error(noBucket, uri, "lake", "GetObject");
    expect(mappedBucket).toBeInstanceOf(BucketNotFoundError);
    expect((mappedBucket as BucketNotFoundError).bucket).toBe("lake");

    const noKey = new NoSuchKey({ $metadata: metadata(404), message: "The specified key does not exist." });
    const headMissing = new NotFound({ $metadata: metadata(404), message: "UnknownError" });
    for (const sdkError of [noKey, headMissing]) {
      expect(mapS3Error(sdkError, uri, "lake", "HeadObject")).toBeInstanceOf(ObjectNotFoundError);
    }
  });

  it("wraps anything else with the operation and URI, keeping the cause", () => {
    const internal = new S3ServiceException({
      name: "InternalError",
      $fault: "server",
      $metadata: metadata(500),
      message: "We encountered an internal error",
    });
    const network = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    for (const sdkError of [internal, network]) {
      const mapped = mapS3Error(sdkError, uri, "lake", "PutObject");
      expect(mapped).toBeInstanceOf(StorageError);
      expect((mapped as StorageError).code).toBe("S3_REQUEST_FAILED");
      expect(mapped.message).toContain(`PutObject ${uri} failed`);
      expect(mapped.message).toContain(sdkError.message);
      expect(mapped.cause).toBe(sdkError);
    }
  });
});
