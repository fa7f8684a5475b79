/**
 * The analytics-SDK JSON form of one enriched event (the Python/JS SDKs' "lossy" transform):
 * typed atomic fields, empty fields omitted, contexts and the unstruct event shredded into flat keys.
 */
import { EnrichedEventError } from "./errors.js";
import { ENRICHED_FIELD_COUNT, ENRICHED_FIELDS, FIELD_INDEX } from "./fields.js";
import { type SelfDescribingEntry, splitEnrichedLine, validateEnrichedFields } from "./rules.js";

export interface TransformOptions {
  /** Add `geo_location: "lat,lon"` when both coordinates are present (default true, as the SDKs). */
  geoLocation?: boolean;
  /** Prefixed to the error message, e.g. "events.tsv line 12". */
  context?: string;
}

/** `2024-01-02 03:04:05.123` → `2024-01-02T03:04:05.123Z`, keeping the fraction digits of the TSV text. */
function isoTimestamp(value: string): string {
  return `${value.replace(" ", "T")}Z`;
}

/**
 * Groups entries under their keys. Contexts and derived contexts share the `contexts_` prefix; where both
 * hold the same schema we CONCATENATE (contexts first, then derived) instead of letting derived_contexts
 * overwrite contexts as the Python SDK does, so no context is lost.
 */
function addContexts(output: Record<string, unknown>, entries: SelfDescribingEntry[] | undefined): void {
  if (!entries) return;
  for (const entry of entries) {
    const existing = output[entry.key] as unknown[] | undefined;
    if (existing) existing.push(entry.data);
    else output[entry.key] = [entry.data];
  }
}

/**
 * Transforms one enriched TSV line (its trailing newline / CR are ignored) into the analytics-SDK JSON
 * object. Throws EnrichedEventError with every problem of the line.
 */
export function transformEnrichedEvent(
  line: string,
  options: TransformOptions = {},
): Record<string, unknown> {
  const fields = splitEnrichedLine(line.endsWith("\n") ? line.slice(0, -1) : line);
  const { errors, json } = validateEnrichedFields(fields);
  if (errors.length > 0) throw new EnrichedEventError(errors, options.context);

  const output: Record<string, unknown> = {};
  for (let index = 0; index < ENRICHED_FIELD_COUNT; index++) {
    const value = fields[index] as string;
    if (value === "") continue;
    const spec = ENRICHED_FIELDS[index] as (typeof ENRICHED_FIELDS)[number];
    switch (spec.type) {
      case "string":
        output[spec.name] = value;
        break;
      case "int":
        output[spec.name] = Number(value);
        break;
      // se_value stays text, as in the Python, JS, Go and .NET SDKs (validated as a double all the same).
      case "double":
        output[spec.name] = spec.name === "se_value" ? value : Number(value);
        break;
      case "boolean":
        output[spec.name] = value === "1";
        break;
      case "timestamp":
        output[spec.name] = isoTimestamp(value);
        break;
      case "contexts":
        // derived_contexts comes after contexts in column order, so it is appended after it.
        addContexts(output, json[spec.name]);
        break;
      case "unstruct": {
        const entry = json.unstruct_event?.[0];
        if (entry) output[entry.key] = entry.data;
        break;
      }
    }
  }
  if (options.geoLocation !== false) {
    const lat = fields[FIELD_INDEX.geo_latitude] as string;
    const lon = fields[FIELD_INDEX.geo_longitude] as string;
    if (lat !== "" && lon !== "") output.geo_location = `${lat},${lon}`;
  }
  return output;
}
