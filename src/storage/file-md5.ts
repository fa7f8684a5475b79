/**
 * MD5 hex digests of local files on worker threads, one per core: hashing is CPU work that would otherwise
 * run on the main thread, one file after another (step 0 spent ~1 s per 280 MB that way on one core).
 * The workers start with the first file, keep the process alive only while they hash (unref'd when idle),
 * and end after a while without work, or at once with `stopFileHashing`.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** How many files are hashed at once: one per core. */
export const HASH_THREADS = availableParallelism();
/** Read size for hashing: with 64 KiB chunks, ~40% of the MD5 time went to chunk handling. */
const HASH_CHUNK_BYTES = 1024 * 1024;
/** Idle workers end after this long, so a long-lived process doesn't keep threads it no longer uses. */
const IDLE_SHUTDOWN_MS = 60_000;

/**
 * The worker's code as a string (`eval`), not a module file: it then runs the same from src/ (tests, tsx)
 * and from dist/. A CommonJS script: the workers get no `execArgv` (an inherited `--input-type=module`
 * would make it ESM; a loader such as tsx would only slow their start). Plain synchronous reads: a worker
 * hashes one file at a time and blocks nobody else.
 */
const WORKER_SOURCE = `
const { closeSync, openSync, readSync } = require("node:fs");
const { createHash } = require("node:crypto");
const { parentPort, workerData } = require("node:worker_threads");
const buffer = Buffer.allocUnsafe(workerData.chunkBytes);
parentPort.on("message", (file) => {
  try {
    const hash = createHash("md5");
    // A descriptor is the caller's: read at positions (its own reads keep their offset), and left open.
    const opened = typeof file === "number" ? file : openSync(file, "r");
    try {
      let position = typeof file === "number" ? 0 : null;
      for (let read; (read = readSync(opened, buffer, 0, buffer.length, position)) > 0; ) {
        hash.update(buffer.subarray(0, read));
        if (position !== null) position += read;
      }
    } finally {
      if (opened !== file) closeSync(opened);
    }
    parentPort.postMessage({ etag: hash.digest("hex") });
  } catch (error) {
    parentPort.postMessage({ error: { code: error.code, message: String(error.message ?? error) } });
  }
});
`;

interface Job {
  /** A path, or the descriptor of a file the caller holds open. */
  file: string | number;
  resolve: (etag: string) => void;
  reject: (error: Error) => void;
}

type Reply = { etag: string } | { error: { code?: string; message: string } };

/** A failure inside a worker, shaped like the file-system error it was (its `code`, e.g. ENOENT). */
class FileHashError extends Error {
  readonly code: string | undefined;
  constructor(file: string | number, message: string, code?: string) {
    super(`hashing ${typeof file === "number" ? `file descriptor ${file}` : file} failed: ${message}`);
    this.name = "FileHashError";
    this.code = code;
  }
}

class HashPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  md5(file: string | number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      this.dispatch();
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    for (const job of [...this.busy.values(), ...this.queue.splice(0)])
      job.reject(new FileHashError(job.file, "hashing was stopped"));
    this.busy.clear();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    clearTimeout(this.idleTimer);
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.busy.size < HASH_THREADS ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift() as Job;
      this.busy.set(worker, job);
      worker.ref(); // a pending hash keeps the process alive, as a pending read would
      worker.postMessage(job.file);
    }
    if (this.busy.size === 0 && this.idle.length > 0) {
      this.idleTimer = setTimeout(() => void this.stop(), IDLE_SHUTDOWN_MS);
      this.idleTimer.unref();
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { chunkBytes: HASH_CHUNK_BYTES },
    });
    worker.on("message", (reply: Reply) => {
      const job = this.busy.get(worker);
      if (!job) return;
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if ("etag" in reply) job.resolve(reply.etag);
      else job.reject(new FileHashError(job.file, reply.error.message, reply.error.code));
      this.dispatch();
    });
    // A worker that dies (out of memory, killed) fails its file; the next file starts a new worker.
    const lost = (reason: string) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      job?.reject(new FileHashError(job.file, reason));
      this.dispatch();
    };
    worker.on("error", (error) => lost(error.message));
    worker.on("exit", (code) => lost(`the hashing thread exited (code ${code})`));
    return worker;
  }
}

const pool = new HashPool();

/**
 * The MD5 hex digest of a local file's bytes, computed on a worker thread: the file at a path, or an open
 * file's descriptor (hashed from offset 0 without moving the descriptor's offset; the caller keeps it open
 * until this settles).
 */
export function md5OfFile(file: string | number): Promise<string> {
  return pool.md5(file);
}

/** Ends the hashing threads now (pending hashes fail); the next hash starts them again. */
export function stopFileHashing(): Promise<void> {
  return pool.stop();
}
