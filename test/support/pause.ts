/** The test side of pause-fs-call.mjs: the environment that arms it in a built child, and what it paused on. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const shim = fileURLToPath(new URL("./pause-fs-call.mjs", import.meta.url));

/**
 * Environment for `startBuiltCli`: the child stops at every call of the `fs.promises` functions `calls` on
 * a path matching `path` until `<dir>/go` exists.
 */
export function pauseEnv(
  dir: string,
  calls: ReadonlyArray<"link" | "open" | "readFile">,
  path: RegExp,
): NodeJS.ProcessEnv {
  return {
    SNAPLAKE_TEST_PAUSE_DIR: dir,
    SNAPLAKE_TEST_PAUSE_CALL: calls.join(","),
    SNAPLAKE_TEST_PAUSE_PATH: path.source,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${shim}`,
  };
}

/** The paths the child is paused on so far, in the order it reached them. */
export function pausedPaths(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^paused\.\d+$/.test(name))
    .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)))
    .map((name) => readFileSync(join(dir, name), "utf8"));
}
