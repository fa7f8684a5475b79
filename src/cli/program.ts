import { Command } from "@commander-js/extra-typings";
import { commands } from "./commands/index.js";

export function buildProgram(): Command {
  const program = new Command("snaplake")
    .description("Snapshot exports and Snowplow enriched archives into a partitioned, compacted Parquet lake")
    .version("0.1.0")
    .showHelpAfterError()
    // The program's own options (--version) only before a command, so `table files --version N` is the command's.
    .enablePositionalOptions()
    // Throw instead of exiting, so runCli maps usage errors to exit code 2 (subcommands inherit this).
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}
