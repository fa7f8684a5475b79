#!/usr/bin/env node
/**
 * The `snaplake` command. Each command lives in its own module under `commands/` and registers itself
 * on the program; this file only runs it and maps what escapes to exit codes.
 */
import { CommanderError } from "@commander-js/extra-typings";
import { ExitCode } from "./exit-codes.js";
import { buildProgram } from "./program.js";

// The CLI targets Node 20 knowingly (README); the AWS SDK's nag about Node 22 would only clutter stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // Help and --version end "successfully"; anything else commander rejects is a usage error.
      process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    process.stderr.write(
      `snaplake: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = ExitCode.failed;
  });
