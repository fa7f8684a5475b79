/**
 * Iglu schema URIs and the analytics SDKs' flat key names for shredded contexts and unstruct events
 * (`snowplow_analytics_sdk/json_shredder.py` in github.com/snowplow/snowplow-python-analytics-sdk,
 * `json/JsonShredder.scala` and `SnowplowEvent.scala` in github.com/snowplow/snowplow-scala-analytics-sdk).
 */

/** The Python/Scala/.NET SDKs' strict Iglu URI rule: vendor/name/format/MODEL-REVISION-ADDITION. */
export const IGLU_URI_PATTERN =
  /^iglu:([a-zA-Z0-9_.-]+)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/([1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;

/** Envelope schemas the Scala SDK accepts in the contexts and unstruct_event columns (1-0-*). */
export const CONTEXTS_ENVELOPE_PATTERN =
  /^iglu:com\.snowplowanalytics\.snowplow\/contexts\/jsonschema\/1-0-[0-9]+$/;
export const UNSTRUCT_ENVELOPE_PATTERN =
  /^iglu:com\.snowplowanalytics\.snowplow\/unstruct_event\/jsonschema\/1-0-[0-9]+$/;

export interface IgluSchemaKey {
  vendor: string;
  name: string;
  format: string;
  model: number;
  revision: number;
  addition: number;
}

export function parseIgluUri(uri: string): IgluSchemaKey | undefined {
  const match = IGLU_URI_PATTERN.exec(uri);
  if (!match) return undefined;
  const [, vendor, name, format, model, revision, addition] = match as unknown as string[];
  return {
    vendor: vendor as string,
    name: name as string,
    format: format as string,
    model: Number(model),
    revision: Number(revision),
    addition: Number(addition),
  };
}

export type ShreddedPrefix = "contexts" | "unstruct_event";

/**
 * `contexts_com_acme_checkout_step_2` from `iglu:com.acme/checkoutStep/jsonschema/2-0-1`:
 * vendor [.-]→_ lowercased; name [.-]→_, camelCase→snake_case, lowercased; then the MODEL.
 */
export function shreddedKey(prefix: ShreddedPrefix, schema: IgluSchemaKey): string {
  const vendor = schema.vendor.replace(/[.-]/g, "_").toLowerCase();
  const name = schema.name
    .replace(/[.-]/g, "_")
    .replace(/([^A-Z_])([A-Z])/g, "$1_$2")
    .toLowerCase();
  return `${prefix}_${vendor}_${name}_${schema.model}`;
}
