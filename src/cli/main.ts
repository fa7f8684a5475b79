#!/usr/bin/env node
/**
 * The `snaplake` command. Each command lives in its own module under `commands/` and registers itself
 * on the program; this file only wires them together and maps errors to exit codes.
 */
import { buildProgram } from "./program.js";

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // Commands handle their own errors (see program.ts); this is the last line of defence.
    process.stderr.write(`snaplake: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
