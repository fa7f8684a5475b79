/** Builds enriched TSV lines for golden tests: a minimal valid event plus the fields a test sets. */
import { ENRICHED_FIELD_COUNT, type EnrichedFieldName, FIELD_INDEX } from "../../src/snowplow/fields.js";

export const CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";
export const UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";

const BASE: Partial<Record<EnrichedFieldName, string>> = {
  app_id: "shop",
  platform: "web",
  etl_tstamp: "2024-01-02 03:04:06.000",
  collector_tstamp: "2024-01-02 03:04:05.123",
  event: "page_view",
  event_id: "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
  v_collector: "ssc-2.9.0-kinesis",
  v_etl: "snowplow-enrich-kinesis-3.9.0",
};

export function enrichedLine(fields: Partial<Record<EnrichedFieldName, string>> = {}): string {
  const values: string[] = new Array(ENRICHED_FIELD_COUNT).fill("");
  for (const [name, value] of Object.entries({ ...BASE, ...fields })) {
    values[FIELD_INDEX[name as EnrichedFieldName]] = value as string;
  }
  return values.join("\t");
}

export function contexts(...entries: Array<[schema: string, data: unknown]>): string {
  return JSON.stringify({ schema: CONTEXTS, data: entries.map(([schema, data]) => ({ schema, data })) });
}

export function unstruct(schema: string, data: unknown): string {
  return JSON.stringify({ schema: UNSTRUCT, data: { schema, data } });
}
