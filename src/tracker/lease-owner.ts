/**
 * Who holds a lease: `<pid>@<hostname>`, recorded with every claim. On one machine this says whether the
 * holder still runs, so a task held by a killed local process can be taken over without waiting out its lease.
 */
import { hostname } from "node:os";

/** This process as a lease owner. */
export function currentLeaseOwner(): string {
  return `${process.pid}@${hostname()}`;
}

/** Whether a process with this pid exists on this machine (a zombie still counts until it is reaped). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True only when `owner` names a process on this machine that no longer exists. An owner on another host,
 * or in an unknown format (written by an older snaplake), is never judged gone: its lease must expire.
 */
export function isGoneLocalOwner(owner: string | undefined): boolean {
  const match = owner?.match(/^(\d+)@(.+)$/);
  if (!match || match[2] !== hostname()) return false;
  return !isProcessAlive(Number(match[1]));
}
