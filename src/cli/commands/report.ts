/** `snaplake report`: the run report, one self-contained HTML page with charts (see ../report.ts). */
import { writeFile } from "node:fs/promises";
import type { Command } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { configOption } from "../options.js";
import { withProject } from "../session.js";
import { stateDirOption } from "./project.js";

export function register(program: Command): void {
  program
    .command("report")
    .description("write the run report: one self-contained HTML page with charts (opens offline)")
    .addOption(configOption())
    .addOption(stateDirOption())
    .option("-o, --out <file>", "where to write it", "snaplake-report.html")
    .action(
      action(async (options) =>
        withProject(options, async ({ project }) => {
          const { collectRunReport, renderRunReport } = await import("../report.js");
          const report = await collectRunReport(project);
          await writeFile(options.out, await renderRunReport(report));
          const v = report.validation;
          process.stdout.write(
            `wrote ${options.out}: ${report.timeline.length} tasks, ${report.partitions.length} partitions, ` +
              `${report.lakeFiles.length} lake files, validation ${v ? (v.ok ? "passed" : "FAILED") : "not run yet"}\n`,
          );
          return ExitCode.ok;
        }),
      ),
    );
}
