/**
 * Preloaded (`node --import`) into a built `snaplake` child by tests that need it to stop at one point,
 * deterministically: every call of the `fs.promises` functions SNAPLAKE_TEST_PAUSE_CALL names (comma
 * separated, e.g. `link`, or `open,readFile` for a read however the code makes it) on a path matching the
 * regular expression SNAPLAKE_TEST_PAUSE_PATH first writes a marker `paused.<n>` (holding the path) into
 * SNAPLAKE_TEST_PAUSE_DIR, then waits until `go` exists there. Nothing of snaplake is replaced:
 * its own code runs, only later, as on a slow disk. `pauseEnv` and `pausedPaths` (pause.ts) are its test side.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const dir = process.env.SNAPLAKE_TEST_PAUSE_DIR;
const calls = process.env.SNAPLAKE_TEST_PAUSE_CALL;
const pattern = process.env.SNAPLAKE_TEST_PAUSE_PATH;
if (dir && calls && pattern) {
  const matches = new RegExp(pattern);
  let paused = 0;
  for (const call of calls.split(",")) {
    const original = fs.promises[call];
    if (typeof original !== "function") throw new Error(`fs.promises.${call} is not a function`);
    fs.promises[call] = async (...args) => {
      // link(existing, target) pauses on its target; open(path), readFile(path) and the like on their path.
      const path = String(call === "link" || call === "rename" ? args[1] : args[0]);
      if (matches.test(path)) {
        // Written whole (temp file, rename): the test may read it at any moment.
        const marker = join(dir, `paused.${++paused}`);
        fs.writeFileSync(`${marker}.tmp`, path);
        fs.renameSync(`${marker}.tmp`, marker);
        while (!fs.existsSync(join(dir, "go"))) await sleep(20);
      }
      return original(...args);
    };
  }
  syncBuiltinESMExports();
}
