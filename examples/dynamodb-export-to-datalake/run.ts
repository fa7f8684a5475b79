/**
 * A DynamoDB full export into a lake, with the CLI and the config file next to this script: a sample
 * export (the layout, manifests and gzip'd DYNAMODB_JSON AWS writes) is generated, then
 * `snaplake run --config snaplake.config.jsonc` turns it into a validated lake.
 *
 *   npx tsx examples/dynamodb-export-to-datalake/run.ts [work-dir]
 *
 * Runs on the embedded default (local folders + the embedded tracker): no AWS account needed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createStorage } from "snaplake";
import { generateDynamoDbExport } from "snaplake/testing";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? ".snaplake/examples/dynamodb-export");
mkdirSync(root, { recursive: true });

// The sample export the config points at (its export id follows from the seed).
const generated = await generateDynamoDbExport(createStorage(), {
  baseUri: `${root}/export/`,
  itemCount: 20_000,
  fileCount: 8,
  seed: 1,
});
const config = join(root, "snaplake.config.jsonc");
copyFileSync(join(here, "snaplake.config.jsonc"), config);

const cli = fileURLToPath(new URL("cli/main.js", import.meta.resolve("snaplake")));
const snaplake = (...args: string[]) => {
  const result = spawnSync(
    process.execPath,
    [cli, ...args, "--config", config, "--state-dir", join(root, "state")],
    {
      encoding: "utf8",
      env: { ...process.env, SNAPLAKE_LOG_LEVEL: "warn" },
    },
  );
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    process.exit(result.status ?? 1);
  }
  return result.stdout;
};

snaplake("run");
const validation = JSON.parse(snaplake("validate", "--json"));
const items = generated.files.reduce((sum, file) => sum + file.items.length, 0);
console.log(`export: ${generated.exportArn}, ${generated.files.length} data files, ${items} items`);
console.log(
  `lake: ${join(root, "lake/datalake")}, partitions: ${validation.lake.partitions}, files: ${validation.lake.files}, rows: ${validation.lake.rows}`,
);
console.log(`validation: ${validation.ok ? "ok" : "FAILED"}`);
