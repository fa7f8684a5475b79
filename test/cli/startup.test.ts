/**
 * `snaplake --help`, `--version` and `init` must start fast: command modules register their options with
 * light imports and load polars, Arrow and the AWS SDK only when a command needs them. Runs the built binary
 * (dist/, compiled by `npm test`) and records every module it resolves.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { builtFile } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const RECORDER = fileURLToPath(new URL("./fixtures/record-imports.mjs", import.meta.url));
const HEAVY = /nodejs-polars|apache-arrow|@aws-sdk|dynamodb-toolbox|hyparquet|pino/;

function importsOf(args: string[]) {
  const result = spawnSync(process.execPath, ["--import", RECORDER, builtFile("cli/main.js"), ...args], {
    encoding: "utf8",
  });
  const imported = result.stderr
    .split("\n")
    .filter((line) => line.startsWith("import "))
    .map((line) => line.slice("import ".length));
  return { status: result.status, stdout: result.stdout, imported };
}

describe("snaplake start-up", () => {
  it.each(["--help", "--version", "runs --help", "init --output <tmp>/snaplake.config.jsonc"])(
    "snaplake %s loads every command module but no heavy library",
    (command) => {
      const tmp = tempDir("snaplake-startup-");
      const { status, stdout, imported } = importsOf(command.replace("<tmp>", tmp).split(" "));
      expect(status).toBe(0);
      expect(stdout).not.toBe("");
      // The recorder works: the command modules were seen.
      expect(imported.filter((url) => url.includes("/dist/cli/commands/")).length).toBeGreaterThan(5);
      expect(imported.filter((url) => HEAVY.test(url))).toEqual([]);
    },
  );
});
