#!/usr/bin/env node
/**
 * The `snaplake` command. Each command lives in its own module under `commands/` and registers itself
 * on the program; run.ts runs it and maps what escapes to exit codes.
 */
import { runCli } from "./run.js";

// The CLI targets Node 20 knowingly (README); the AWS SDK's nag about Node 22 would only clutter stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

process.exitCode = await runCli(process.argv);
