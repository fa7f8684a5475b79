/**
 * Temp folders for tests that clean up after themselves: `tempDir(prefix)` makes a fresh folder under the
 * OS temp folder, and every folder a test file made is removed when that file's tests end (so a folder
 * shared by a `beforeAll` context lives as long as the tests using it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

// Registered when a test file first imports this module, on that file's root suite.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
