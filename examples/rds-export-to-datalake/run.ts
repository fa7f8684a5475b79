/**
 * An RDS/Aurora snapshot export into a lake, with the CLI and the config file next to this script: a sample
 * export (the info files and Parquet part files AWS writes, with one table that FAILED) is generated, then
 * `snaplake run --config snaplake.config.jsonc` turns its orders table into a validated lake.
 *
 *   npx tsx examples/rds-export-to-datalake/run.ts [work-dir]
 *
 * Runs on the embedded default (local folders + the embedded tracker): no AWS account needed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createStorage } from "snaplake";
import { generateRdsExport } from "snaplake/testing";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? ".snaplake/examples/rds-export");
mkdirSync(root, { recursive: true });

// The sample export the config points at: the orders table, and an audit table whose export failed.
const generated = await generateRdsExport(createStorage(), {
  baseUri: `${root}/export/`,
  exportId: "shop-export-2024-05-01",
  seed: 1,
  tables: [
    { target: "shop.public.orders", rows: 20_000, batches: 2, filesPerBatch: 3 },
    { target: "shop.public.audit", rows: 100, status: "FAILED" },
  ],
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
const orders = generated.tables.get("shop.public.orders");
console.log(`export: ${generated.folder}, table shop.public.orders, ${orders?.height ?? 0} rows`);
console.log(
  `lake: ${join(root, "lake/datalake")}, partitions: ${validation.lake.partitions}, files: ${validation.lake.files}, rows: ${validation.lake.rows}`,
);
console.log(`validation: ${validation.ok ? "ok" : "FAILED"}`);
