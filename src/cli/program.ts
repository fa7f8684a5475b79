import { Command } from "@commander-js/extra-typings";
import { commands } from "./commands/index.js";

export function buildProgram(): Command {
  const program = new Command("snaplake")
    .description("Snapshot exports and Snowplow enriched archives into a partitioned, compacted Parquet lake")
    .version("0.1.0")
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}
