/**
 * The Lambda handler never loads dynalite (an optional dependency for the embedded tracker only): its
 * module graph, imported in a fresh Node process from dist/, holds polars and the AWS SDK but no dynalite.
 * The same check on a process that opens the embedded tracker finds dynalite, so the check can fail.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { builtFile } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

/** Imports `code`'s modules in a new process and lists the CommonJS packages loaded (ESM imports of CJS included). */
function loadedPackages(code: string): string[] {
  const script = `
import { createRequire } from "node:module";
${code}
const loaded = Object.keys(createRequire(import.meta.url).cache);
const names = loaded.map((path) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(path)?.[1]).filter(Boolean);
console.log(JSON.stringify([...new Set(names)]));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

describe("the Lambda's module graph", () => {
  it("loads polars but not dynalite; opening the embedded tracker does load it", () => {
    const lambda = loadedPackages(`await import(${JSON.stringify(builtFile("aws/lambda.js"))});`);
    expect(lambda).toContain("nodejs-polars");
    expect(lambda).not.toContain("dynalite");

    const stateDir = tempDir("snaplake-graph-");
    const embedded = loadedPackages(`
const { EmbeddedTracker } = await import(${JSON.stringify(builtFile("tracker/embedded.js"))});
const tracker = await EmbeddedTracker.open(${JSON.stringify(stateDir)});
await tracker.close();`);
    expect(embedded).toContain("dynalite");
  }, 60_000);
});
