/**
 * Reading and cleaning Delta tables (a lake written with `table.format: "delta"`, or any Delta table):
 *   table history <uri> [--json]              each version: time, operation, projectId, rows and files added/removed
 *   table files <uri> [--version N] [--json]  the active files at a version (default the latest)
 *   vacuum <uri> --retain 7d [--yes]          lists the files no version in the window references; --yes deletes
 *   vacuum --config <file> --retain 7d [--yes]   the same for a project's table, with its storage and log store
 * S3 is reached with the default AWS chain (AWS_ENDPOINT_URL_S3 for a local server).
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { ConfigError } from "../../errors.js";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { wholeNumber } from "../options.js";
import { print, withProject } from "../session.js";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A retention such as "7d", "12h" or "30m". */
function retention(value: string): number {
  const match = /^(\d+)([mhd])$/.exec(value);
  if (!match)
    throw new InvalidArgumentError('use a whole number of minutes, hours or days, e.g. "7d" or "12h"');
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

async function deltaLibrary() {
  const [{ createStorage }, delta] = await Promise.all([
    import("../../storage/create.js"),
    import("../../table/delta/index.js"),
  ]);
  return { storage: createStorage(), ...delta };
}

const when = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

export function register(program: Command): void {
  const table = program.command("table").description("read a Delta table's log: its history and files");

  table
    .command("history")
    .description("each version with its time, operation, projectId, and the rows and files added and removed")
    .argument("<uri>", "the table's root folder (s3:// or a local path)")
    .option("--json", "print JSON on stdout")
    .action(
      action(async (uri, options) => {
        const { storage, openDeltaTable } = await deltaLibrary();
        const history = await (await openDeltaTable(storage, uri)).history();
        print(Boolean(options.json), history, () =>
          history
            .map(
              (v) =>
                `${v.version}\t${when(v.timestamp)}\t${v.operation ?? "-"}\t${v.projectId ?? "-"}\t` +
                `+${v.filesAdded} files (${v.rowsAdded} rows)\t-${v.filesRemoved} files (${v.rowsRemoved} rows)`,
            )
            .join("\n"),
        );
        return ExitCode.ok;
      }),
    );

  table
    .command("files")
    .description("the active data files at a version, with partition values and row counts")
    .argument("<uri>", "the table's root folder (s3:// or a local path)")
    .addOption(
      new Option("--version <n>", "the table version (default the latest)").argParser(wholeNumber(0)),
    )
    .option("--json", "print JSON on stdout")
    .action(
      action(async (uri, options) => {
        const { storage, openDeltaTable } = await deltaLibrary();
        const opened = await openDeltaTable(
          storage,
          uri,
          options.version === undefined ? {} : { version: options.version },
        );
        const value = {
          version: opened.version,
          partitionColumns: opened.partitionColumns,
          schema: opened.schema,
          files: opened.files,
        };
        print(Boolean(options.json), value, () =>
          [
            `version ${opened.version}: ${opened.files.length} files`,
            ...opened.files.map((f) => `${f.path}\t${f.size} bytes\t${f.rows ?? "?"} rows`),
          ].join("\n"),
        );
        return ExitCode.ok;
      }),
    );

  program
    .command("vacuum")
    .description(
      "list the files of a Delta table that no version inside the retention window references; --yes deletes them",
    )
    .argument("[uri]", "the table's root folder (s3:// or a local path); or --config")
    .option(
      "-c, --config <file>",
      "a project config: vacuum its table (datalakeUri), with its AWS settings and log store",
    )
    .option("--state-dir <dir>", "with --config: folder of the embedded tracker")
    .addOption(
      new Option("--retain <duration>", "keep what versions this recent still reference, e.g. 7d")
        .argParser(retention)
        .makeOptionMandatory(),
    )
    .option("--yes", "delete the listed files (without it, only list them)")
    .option("--json", "print JSON on stdout")
    .action(
      action(async (uri, options) => {
        if (Boolean(uri) === Boolean(options.config))
          throw new ConfigError("vacuum", ["give either the table's <uri> or --config <file>, not both"]);
        const request = { retainMs: options.retain, dryRun: !options.yes };
        const result = options.config
          ? await withProject({ ...options, config: options.config }, ({ project }) =>
              project.vacuum(request),
            )
          : await (async () => {
              const { storage, vacuum } = await deltaLibrary();
              return vacuum(storage, uri!, request);
            })();
        print(Boolean(options.json), result, () =>
          [
            ...result.files,
            `${result.files.length} files, ${result.bytes} bytes ${result.deleted ? "deleted" : "to delete (run again with --yes to delete them)"}`,
          ].join("\n"),
        );
        return ExitCode.ok;
      }),
    );
}
