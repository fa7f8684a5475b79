/**
 * Looking into the lake: `snaplake preview` (the first rows, of one partition if asked) and `snaplake query
 * "SQL"` (polars SQL over the lake as the table `lake`). Both read the lake through the storage layer (local
 * folders and S3), a Delta table as its latest version's files, an Iceberg table as its current snapshot's;
 * neither opens the tracker or writes anything.
 * query reads every file it is given into memory: narrow it with --partition on a big lake.
 */
import type { Command } from "@commander-js/extra-typings";
import type pl from "nodejs-polars";
import type { ProjectConfig } from "../../config.js";
import { ConfigError } from "../../errors.js";
import type { Storage } from "../../storage/types.js";
import { tableVersionName } from "../../table/types.js";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { configOption, wholeNumber } from "../options.js";

const collect = (value: string, previous: string[]) => [...previous, value];

interface LakeOptions {
  config: string;
  partition: string[];
}

/** The config, its storage and the lake's files in the asked partitions (a note on stderr says which lake). */
async function openLake(options: LakeOptions) {
  const [{ loadConfigFile }, { openStorage }, lake] = await Promise.all([
    import("../config-file.js"),
    import("../../runtime.js"),
    import("../../table/read.js"),
  ]);
  const { config } = await loadConfigFile(options.config);
  const storage = openStorage(config);
  const wanted = lake.parsePartitionFilters(options.partition, config.partitionKeys);
  const catalog = await glueCatalogOf(config, storage);
  const listing = await lake.listLakeFiles(storage, config.datalakeUri, config.table.format, catalog);
  const files = listing.files.filter((file) => lake.inPartition(file, wanted));
  const version = listing.version === null ? "" : `, ${tableVersionName(listing.format, listing.version)}`;
  process.stderr.write(
    `snaplake: lake ${config.datalakeUri} (${listing.format}${version}): ${files.length} of ${listing.files.length} file(s)\n`,
  );
  if (listing.files.length === 0) {
    process.stderr.write(`snaplake: the lake has no data files yet: run \`snaplake run\` first\n`);
    return undefined;
  }
  if (files.length === 0) {
    const partitions = [...new Set(listing.files.map((f) => JSON.stringify(f.partition)))].slice(0, 5);
    process.stderr.write(
      `snaplake: no lake file is in partition ${options.partition.join(", ")}; some there are: ${partitions.join(" ")}\n`,
    );
    return undefined;
  }
  return { storage, files, lake };
}

/** An Iceberg table in the Glue Data Catalog is found through Glue; other tables by their folder. */
async function glueCatalogOf(config: ProjectConfig, storage: Storage) {
  if (config.table.format !== "iceberg" || config.table.catalog?.type !== "glue") return undefined;
  const [{ createGlueClient }, { icebergCatalogFor }] = await Promise.all([
    import("../../clients/aws.js"),
    import("../../table/iceberg-lake-table.js"),
  ]);
  const glue = createGlueClient({ region: config.aws.region, endpoint: config.aws.glueEndpoint });
  return icebergCatalogFor(config.table, storage, config.datalakeUri, { glue: () => glue });
}

function printFrame(frame: pl.DataFrame, json: boolean): void {
  process.stdout.write(
    json ? `${frame.writeJSON({ format: "json" }).toString()}\n` : `${frame.toString()}\n`,
  );
}

export function register(program: Command): void {
  program
    .command("preview")
    .description("print the lake's first rows (of one partition with --partition k=v)")
    .addOption(configOption())
    .option(
      "-p, --partition <k=v>",
      "only this partition (repeat for several keys; k= is the null partition)",
      collect,
      [],
    )
    .option("-n, --limit <n>", "rows to print", wholeNumber(1, 1_000_000), 20)
    .option("--json", "print the rows as a JSON array on stdout")
    .action(
      action(async (options) => {
        const opened = await openLake(options);
        if (!opened) return ExitCode.failed;
        const frame = await opened.lake.readLakeFrame(opened.storage, opened.files, { limit: options.limit });
        printFrame(frame, Boolean(options.json));
        return ExitCode.ok;
      }),
    );

  program
    .command("query")
    .description('run a SQL query over the lake, the table "lake" (polars SQL): snaplake query "SELECT ..."')
    .argument("<sql>", 'the query, e.g. "SELECT year, count(*) AS n FROM lake GROUP BY year"')
    .addOption(configOption())
    .option(
      "-p, --partition <k=v>",
      "read only this partition's files (repeat for several keys)",
      collect,
      [],
    )
    .option("--json", "print the result as a JSON array on stdout")
    .action(
      action(async (sql, options) => {
        const opened = await openLake(options);
        if (!opened) return ExitCode.failed;
        const { default: polars } = await import("nodejs-polars");
        const frame = await opened.lake.readLakeFrame(opened.storage, opened.files);
        const lazy = polars.SQLContext({ lake: frame }).execute(sql);
        // nodejs-polars 0.26 wraps a failed query's error in the frame it returns instead of throwing it.
        const failure = (lazy as unknown as { _ldf: unknown })._ldf;
        if (failure instanceof Error) throw new ConfigError("the query", [failure.message]);
        let result: pl.DataFrame;
        try {
          result = await lazy.collect();
        } catch (error) {
          throw new ConfigError("the query", [(error as Error).message]);
        }
        printFrame(result, Boolean(options.json));
        return ExitCode.ok;
      }),
    );
}
