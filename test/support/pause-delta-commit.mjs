/**
 * Preloaded (`node --import`) into a built `snaplake` child by tests that need a Delta writer to stop
 * between reading the log and creating its commit file, so that another writer can commit in between,
 * deterministically. The local log store creates a commit with `link(temp, _delta_log/<version>.json)`;
 * this wraps `fs.promises.link` so that such a link first writes `<dir>/paused` and waits until `<dir>/go`
 * exists (dir = SNAPLAKE_TEST_PAUSE_DIR). Nothing of snaplake is replaced: its own code runs, only later,
 * as on a slow disk.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const dir = process.env.SNAPLAKE_TEST_PAUSE_DIR;
if (dir) {
  const link = fs.promises.link;
  fs.promises.link = async (existing, target) => {
    if (/[/\\]_delta_log[/\\]\d{20}\.json$/.test(String(target))) {
      fs.writeFileSync(join(dir, "paused"), String(target));
      while (!fs.existsSync(join(dir, "go"))) await sleep(20);
    }
    return link(existing, target);
  };
  syncBuiltinESMExports();
}
