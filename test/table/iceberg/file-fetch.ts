/**
 * icebird reads through `fetch`, which Node does not offer for file:// URLs. While installed, this
 * answers GET and HEAD (with a Range header) for file:// URLs from disk, and passes every other URL on.
 * The path is taken literally, as Iceberg's file IO takes a location (a Hive folder `at=…T13%3A30…` is
 * that name on disk, not a percent-encoded colon).
 */
import { readFile } from "node:fs/promises";

export function installFileFetch(): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("file://")) return original(input, init);
    let bytes: Buffer;
    try {
      bytes = await readFile(url.slice("file://".length));
    } catch {
      return new Response(null, { status: 404, statusText: "Not Found" });
    }
    const headers = new Headers(init?.headers);
    const range = /^bytes=(\d+)-(\d*)$/.exec(headers.get("range") ?? "");
    if (init?.method === "HEAD") {
      return new Response(null, { status: 200, headers: { "content-length": String(bytes.length) } });
    }
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Number(range[2]) + 1 : bytes.length;
      return new Response(bytes.subarray(start, end), { status: 206 });
    }
    return new Response(bytes, { status: 200, headers: { "content-length": String(bytes.length) } });
  };
  return () => {
    globalThis.fetch = original;
  };
}

/**
 * icebird turns `s3://bucket/key` into `https://bucket.s3.amazonaws.com/key`; while installed, those
 * requests go to the S3-compatible server at `endpoint` (path-style) instead, unchanged otherwise.
 */
export function installS3Fetch(endpoint: string): () => void {
  const original = globalThis.fetch;
  const base = endpoint.replace(/\/+$/, "");
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const match = /^https:\/\/([^./]+)\.s3\.amazonaws\.com(\/.*)$/.exec(url);
    return original(match ? `${base}/${match[1]}${match[2]}` : input, init);
  };
  return () => {
    globalThis.fetch = original;
  };
}
