/**
 * icebird reads through `fetch`, which Node does not offer for file:// URLs. While installed, this
 * answers GET and HEAD (with a Range header) for file:// URLs from disk, and passes every other URL on.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export function installFileFetch(): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("file://")) return original(input, init);
    let bytes: Buffer;
    try {
      bytes = await readFile(fileURLToPath(url));
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
