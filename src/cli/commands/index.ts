import type { Command } from "@commander-js/extra-typings";
import { register as snowplow } from "./snowplow.js";
import { register as tracker } from "./tracker.js";

/** Every CLI command registers itself here, one line each. */
export const commands: Array<(program: Command) => void> = [snowplow, tracker];
