/**
 * Names for temporary files and folders that say which process owns them, so a later process can tell a
 * write still in flight from the leftover of a process that was killed (SIGKILL runs no cleanup).
 * A name is `{prefix}{pid}-{processToken}-{unique}@{host}`; it is stale when its host is this machine and
 * its process is gone (or its pid now belongs to another process: the token differs), or when it is older
 * than `STALE_AFTER_MS` (another machine on a shared folder, a reused pid, a name without an owner).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { hostname } from "node:os";

/** One token per process: tells this process from an earlier one that had the same pid. */
const PROCESS_TOKEN = randomBytes(4).toString("hex");
/** Long enough that no write still running is taken for a leftover. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

const OWNED_NAME = /^(\d+)-([0-9a-f]{8})-[^@]*@(.+)$/;

/** A unique name starting with `prefix` that records this process as its owner. */
export function ownedTempName(prefix: string): string {
  return `${prefix}${process.pid}-${PROCESS_TOKEN}-${randomUUID()}@${safeHost()}`;
}

/** Whether `name` (starting with `prefix`) is a leftover no running process will finish or remove. */
export function isStaleTemp(prefix: string, name: string, modifiedMs: number, now = Date.now()): boolean {
  if (!name.startsWith(prefix)) return false;
  if (now - modifiedMs > STALE_AFTER_MS) return true;
  const owner = OWNED_NAME.exec(name.slice(prefix.length));
  if (!owner || owner[3] !== safeHost()) return false;
  const pid = Number(owner[1]);
  if (pid === process.pid) return owner[2] !== PROCESS_TOKEN;
  return !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The host name as it may appear in a file name. */
function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "localhost";
}
