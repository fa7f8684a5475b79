import type { Command } from "@commander-js/extra-typings";

/** Every CLI command registers itself here, one line each. */
export const commands: Array<(program: Command) => void> = [];
