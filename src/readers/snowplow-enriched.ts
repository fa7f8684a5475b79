/** `reader.format: "snowplow-enriched"`: Snowplow enriched events, read by the ready `SnowplowEnrichedProject`. */
import { z } from "zod";
import { EventManifest } from "../snowplow/event-manifest.js";
import { SnowplowEnrichedProject, withSnowplowDefaults } from "../snowplow/project.js";
import { readerFormat } from "./format.js";

export const snowplowEnrichedFormat = readerFormat({
  description: "Snowplow enriched events: the 131-field TSV, typed, bad lines kept as bad rows.",
  options: z
    .object({
      shred: z
        .boolean()
        .default(false)
        .describe(
          "Add one JSON column per context and unstruct event schema (contexts_com_acme_checkout_step_2, ...).",
        ),
      dedupe: z
        .boolean()
        .default(true)
        .describe("In-batch natural de-duplication: one event per event_id and event_fingerprint."),
      eventManifestTable: z
        .string()
        .min(3)
        .optional()
        .describe(
          "Cross-batch de-duplication against this Snowplow event manifest table (fill it with `snaplake populate-event-manifest`).",
        ),
    })
    .strict(),
  withConfigDefaults: withSnowplowDefaults,
  // The event manifest uses the runtime's DynamoDB client, so closing the runtime closes it.
  project: (config, dependencies, options, runtime) =>
    new SnowplowEnrichedProject(config, dependencies, {
      shred: options.shred,
      dedupe: options.dedupe,
      ...(options.eventManifestTable
        ? { eventManifest: new EventManifest(runtime.dynamodb(), options.eventManifestTable) }
        : {}),
    }),
});
