/**
 * The embedded tracker, shared by every snaplake process on the machine that opens the same state folder.
 *
 * One process at a time hosts dynalite (LevelDB under `<stateDir>/tracker`, which only one process may
 * open) on a loopback port; the others send it their requests like any DynamoDB client.
 *
 * Election: the host writes a lock file `<stateDir>/host.<generation>.lock` (pid, port, token). The file is
 * created whole and exclusively (a complete temp file hard-linked to its name, which fails if the name
 * exists), so of the processes that race for a generation exactly one wins. A process looks at the
 * newest generation: while its host process lives, it connects to it; once the host closed (it marks its
 * file `closed`) or its pid is gone (killed, crashed), it tries to host the next generation. Generations only
 * grow (a new host removes older files, never its own), so a stale view can never win a generation that
 * is already taken.
 *
 * The host serves while it lives. A client whose requests find the host gone (connection refused or
 * reset, or another server on the port) runs the election again, hosting if it wins, and re-sends the
 * request. Dynalite writes each item to LevelDB before answering, and LevelDB survives a killed process,
 * so a takeover loses nothing that was acknowledged. The token (a request header) makes sure a client
 * talks to this state folder's host, not to whatever else took over the port.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { z } from "zod";
import { SnaplakeError } from "../errors.js";
import { type Logger, silentLogger } from "../logging.js";
import { isProcessAlive } from "./lease-owner.js";

export class EmbeddedTrackerBusyError extends SnaplakeError {
  constructor(stateDir: string, detail: string) {
    super(
      "EMBEDDED_TRACKER_BUSY",
      `The embedded tracker in ${stateDir} could not be opened: ${detail}. ` +
        "If no snaplake process is using this state folder any more, delete its host.*.lock files and try again.",
    );
  }
}

/**
 * dynalite is an optional dependency (a Lambda or a container with a DynamoDB table never needs it), so it
 * is loaded only when this process hosts the embedded tracker.
 */
export class EmbeddedTrackerUnavailableError extends SnaplakeError {
  constructor(cause: unknown) {
    super(
      "EMBEDDED_TRACKER_UNAVAILABLE",
      "The embedded tracker needs the optional package dynalite, which is not installed: run `npm install dynalite`, " +
        "or set tracker.tableName to use a DynamoDB table",
      { cause },
    );
  }
}

type Dynalite = (options: Record<string, unknown>) => Server;

async function loadDynalite(): Promise<Dynalite> {
  try {
    // @ts-expect-error dynalite ships no types
    return (await import("dynalite")).default as Dynalite;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND")
      throw new EmbeddedTrackerUnavailableError(error);
    throw error;
  }
}

const TOKEN_HEADER = "x-snaplake-tracker-token";
const LOCK_FILE = /^host\.(\d+)\.lock$/;

const hostLockSchema = z.object({
  pid: z.number().int().positive(),
  token: z.string().min(16),
  /** null while the host is starting. */
  port: z.number().int().positive().nullable(),
  closed: z.boolean(),
});
type HostLock = z.infer<typeof hostLockSchema>;

export interface EmbeddedHostInfo {
  endpoint: string;
  /** The process serving the state folder (maybe this one). */
  pid: number;
  hosting: boolean;
}

interface Connection extends EmbeddedHostInfo {
  token: string;
}

/** The connection to a state folder's host, re-elected when the host goes away. */
export class EmbeddedTracker {
  readonly stateDir: string;
  /** A DynamoDB client that always talks to the current host. */
  readonly client: DynamoDBClient;
  private connection: Connection | undefined;
  private reconnecting: Promise<void> | undefined;
  private hosted: { server: Server; generation: number; lock: HostLock } | undefined;
  private closed = false;

  private constructor(
    stateDir: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {
    this.stateDir = stateDir;
    this.client = new DynamoDBClient({
      region: "local",
      endpoint: async () => ({ url: new URL(this.current().endpoint) }),
      // dynalite accepts any credentials; fixed ones keep the SDK from searching the AWS chain.
      credentials: { accessKeyId: "embedded", secretAccessKey: "embedded" },
      maxAttempts: 2,
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers[TOKEN_HEADER] = this.current().token;
        return next(args);
      },
      { step: "build", name: "snaplakeEmbeddedToken" },
    );
    this.client.middlewareStack.add(
      (next) => async (args) => {
        for (let attempt = 1; ; attempt++) {
          const used = this.current();
          try {
            return await next(args);
          } catch (error) {
            // A host never loses itself; a client gives up after a few hosts in a row vanished.
            if (!isHostLost(error) || this.closed || used.hosting || attempt >= 5) throw error;
            await this.reconnect(used);
          }
        }
      },
      { step: "initialize", name: "snaplakeEmbeddedReconnect" },
    );
  }

  /** Connects to the state folder's host, or becomes it. */
  static async open(
    stateDir: string,
    options: { logger?: Logger; timeoutMs?: number } = {},
  ): Promise<EmbeddedTracker> {
    const tracker = new EmbeddedTracker(
      resolve(stateDir),
      options.logger ?? silentLogger,
      options.timeoutMs ?? 120_000,
    );
    await mkdir(join(tracker.stateDir, "tracker"), { recursive: true });
    tracker.connection = await tracker.elect();
    return tracker;
  }

  /** Where requests go now. */
  host(): EmbeddedHostInfo {
    const { endpoint, pid, hosting } = this.current();
    return { endpoint, pid, hosting };
  }

  /** Stops using the host; a hosting process stops serving and marks its lock file closed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.reconnecting?.catch(() => undefined);
    this.client.destroy();
    await this.stopHosting();
  }

  private current(): Connection {
    if (!this.connection) throw new Error("the embedded tracker is not connected");
    return this.connection;
  }

  /** Once per lost host, however many requests noticed it. */
  private reconnect(lost: Connection): Promise<void> {
    if (this.connection !== lost) return Promise.resolve();
    this.reconnecting ??= (async () => {
      this.logger.warn(
        { stateDir: this.stateDir, lostHostPid: lost.pid },
        "the embedded tracker's host is gone; reconnecting (taking over if no other process does)",
      );
      this.connection = await this.elect();
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async elect(): Promise<Connection> {
    const deadline = Date.now() + this.timeoutMs;
    let waitingFor = "no host answered";
    for (;;) {
      const newest = await this.newestLock();
      if (newest === "retry") continue;
      const { generation, lock } = newest ?? { generation: 0, lock: undefined };
      if (lock && !lock.closed && isProcessAlive(lock.pid)) {
        if (lock.port !== null && (await acceptsConnections(lock.port))) {
          const endpoint = loopback(lock.port);
          this.logger.debug(
            { stateDir: this.stateDir, endpoint, hostPid: lock.pid },
            "using the embedded tracker host",
          );
          return { endpoint, token: lock.token, pid: lock.pid, hosting: false };
        }
        // Starting (no port yet) or closing (port refused, pid still there): look again shortly.
        waitingFor = `process ${lock.pid} (${this.lockPath(generation)}) holds it but does not answer`;
      } else {
        const hosted = await this.tryToHost(generation + 1);
        if (hosted) return hosted;
        continue; // another process won this generation: look at it
      }
      if (Date.now() > deadline) throw new EmbeddedTrackerBusyError(this.stateDir, waitingFor);
      await sleep(100);
    }
  }

  /** The newest generation's lock; "retry" when it vanished while being read. */
  private async newestLock(): Promise<
    { generation: number; lock: HostLock | undefined } | undefined | "retry"
  > {
    const generations = (await readdir(this.stateDir))
      .map((name) => LOCK_FILE.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
    if (generations.length === 0) return undefined;
    const generation = Math.max(...generations);
    let text: string;
    try {
      text = await readFile(this.lockPath(generation), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "retry";
      throw error;
    }
    // Lock files are only ever written whole; one that doesn't parse is not ours: supersede it.
    const parsed = hostLockSchema.safeParse(safeJson(text));
    return { generation, lock: parsed.success ? parsed.data : undefined };
  }

  private async tryToHost(generation: number): Promise<Connection | undefined> {
    const lock: HostLock = {
      pid: process.pid,
      token: randomBytes(24).toString("hex"),
      port: null,
      closed: false,
    };
    const path = this.lockPath(generation);
    const temp = join(this.stateDir, `.host.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    await writeFile(temp, JSON.stringify(lock), { mode: 0o600 });
    try {
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    // Won: the previous host is gone (closed or dead), so its LevelDB is free.
    const server = await startDynalite(join(this.stateDir, "tracker"), lock.token);
    const port = (server.address() as { port: number }).port;
    const serving = { ...lock, port };
    this.hosted = { server, generation, lock: serving };
    await this.writeLock(generation, serving);
    await this.removeOlderLocks(generation);
    const endpoint = loopback(port);
    this.logger.debug({ stateDir: this.stateDir, endpoint, generation }, "hosting the embedded tracker");
    return { endpoint, token: lock.token, pid: process.pid, hosting: true };
  }

  private async stopHosting(): Promise<void> {
    const hosted = this.hosted;
    if (!hosted) return;
    this.hosted = undefined;
    // Clients see "pid alive, port refused" meanwhile and wait; the closed mark lets the next host in only
    // after LevelDB is closed.
    await new Promise<void>((ok) => hosted.server.close(() => ok()));
    await this.writeLock(hosted.generation, { ...hosted.lock, closed: true });
  }

  /** Replaces our own lock file whole (rename over it), so readers never see half a file. */
  private async writeLock(generation: number, lock: HostLock): Promise<void> {
    const temp = join(this.stateDir, `.host.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    await writeFile(temp, JSON.stringify(lock), { mode: 0o600 });
    await rename(temp, this.lockPath(generation));
  }

  private async removeOlderLocks(generation: number): Promise<void> {
    for (const name of await readdir(this.stateDir)) {
      const older = LOCK_FILE.exec(name);
      if (older && Number(older[1]) < generation)
        await unlink(join(this.stateDir, name)).catch(() => undefined);
    }
  }

  private lockPath(generation: number): string {
    return join(this.stateDir, `host.${generation}.lock`);
  }
}

async function startDynalite(path: string, token: string): Promise<Server> {
  const dynalite = await loadDynalite();
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const [handle] = server.listeners("request") as Array<(req: unknown, res: unknown) => void>;
  server.removeAllListeners("request");
  server.on("request", (request, response) => {
    if (request.headers[TOKEN_HEADER] === token) return handle?.(request, response);
    request.resume();
    response.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
    response.end(
      JSON.stringify({
        __type: "com.amazonaws.dynamodb.v20120810#UnrecognizedClientException",
        message: "Not the embedded tracker this client connected to (its host changed).",
      }),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  return server;
}

/** A TCP connect: answered by the kernel even while the host's event loop is busy. */
function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      ok(true);
    });
    socket.once("error", () => ok(false));
  });
}

const HOST_LOST_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

function isHostLost(error: unknown): boolean {
  const { code, name } = error as { code?: string; name?: string };
  return (code !== undefined && HOST_LOST_CODES.has(code)) || name === "UnrecognizedClientException";
}

function loopback(port: number): string {
  return `http://127.0.0.1:${port}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
