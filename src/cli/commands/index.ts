import type { Command } from "@commander-js/extra-typings";
import { register as completion } from "./completion.js";
import { register as demo } from "./demo.js";
import { register as lake } from "./lake.js";
import { register as populate } from "./populate.js";
import { register as project } from "./project.js";
import { register as report } from "./report.js";
import { register as runs } from "./runs.js";
import { register as sfn } from "./sfn.js";
import { register as snowplow } from "./snowplow.js";
import { register as table } from "./table.js";
import { register as tracker } from "./tracker.js";

/** Every CLI command registers itself here, one line each. */
export const commands: Array<(program: Command) => void> = [
  project,
  demo,
  runs,
  populate,
  snowplow,
  tracker,
  sfn,
  table,
  lake,
  report,
  completion,
];
