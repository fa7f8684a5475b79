import type { Command } from "@commander-js/extra-typings";
import { register as populate } from "./populate.js";
import { register as runs } from "./runs.js";
import { register as snowplow } from "./snowplow.js";
import { register as tracker } from "./tracker.js";

/** Every CLI command registers itself here, one line each. */
export const commands: Array<(program: Command) => void> = [runs, populate, snowplow, tracker];
