import { describe, expect, it } from "vitest";
import { EnrichedEventError, type FieldError } from "../../src/snowplow/errors.js";
import { transformEnrichedEvent } from "../../src/snowplow/transform.js";
import { contexts, enrichedLine, unstruct } from "./enriched-lines.js";

function errorsOf(line: string): FieldError[] {
  try {
    transformEnrichedEvent(line);
  } catch (error) {
    expect(error).toBeInstanceOf(EnrichedEventError);
    return (error as EnrichedEventError).errors;
  }
  throw new Error("expected the line to be rejected");
}

describe("transformEnrichedEvent (analytics-SDK JSON)", () => {
  it("types atomic fields, omits empty ones and keeps the TSV timestamp digits", () => {
    const out = transformEnrichedEvent(
      enrichedLine({
        txn_id: "-42",
        geo_latitude: "52.52",
        br_cookies: "1",
        dvce_ismobile: "0",
        se_value: "0.10",
        dvce_created_tstamp: "2024-01-02 03:04:05",
        true_tstamp: "2024-01-02 03:04:05.123456789",
      }),
    );
    expect(out).toEqual({
      app_id: "shop",
      platform: "web",
      etl_tstamp: "2024-01-02T03:04:06.000Z",
      collector_tstamp: "2024-01-02T03:04:05.123Z",
      dvce_created_tstamp: "2024-01-02T03:04:05Z",
      true_tstamp: "2024-01-02T03:04:05.123456789Z",
      event: "page_view",
      event_id: "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
      txn_id: -42,
      v_collector: "ssc-2.9.0-kinesis",
      v_etl: "snowplow-enrich-kinesis-3.9.0",
      geo_latitude: 52.52,
      br_cookies: true,
      dvce_ismobile: false,
      // se_value stays text, as in the Python/JS SDKs.
      se_value: "0.10",
    });
    expect(out).not.toHaveProperty("geo_location");
  });

  it("adds geo_location only when both coordinates exist, from their text", () => {
    expect(
      transformEnrichedEvent(enrichedLine({ geo_latitude: "52.5200", geo_longitude: "13.4050" })),
    ).toMatchObject({
      geo_location: "52.5200,13.4050",
    });
    expect(transformEnrichedEvent(enrichedLine({ geo_longitude: "13.4050" }))).not.toHaveProperty(
      "geo_location",
    );
    expect(
      transformEnrichedEvent(enrichedLine({ geo_latitude: "1", geo_longitude: "2" }), { geoLocation: false }),
    ).not.toHaveProperty("geo_location");
  });

  it("shreds contexts per schema key: camelCase names, dotted and dashed vendors, several of one schema", () => {
    const out = transformEnrichedEvent(
      enrichedLine({
        contexts: contexts(
          ["iglu:com.acme/checkoutStep/jsonschema/2-0-1", { step: 1 }],
          ["iglu:org.w3/PerformanceTiming/jsonschema/1-0-0", { domComplete: 5 }],
          ["iglu:com.my-company/product/jsonschema/1-0-2", { sku: "a" }],
          ["iglu:com.my-company/product/jsonschema/1-1-0", { sku: "b" }],
          ["iglu:com.acme/FOOBar/jsonschema/3-0-0", {}],
        ),
      }),
    );
    expect(out.contexts_com_acme_checkout_step_2).toEqual([{ step: 1 }]);
    expect(out.contexts_org_w3_performance_timing_1).toEqual([{ domComplete: 5 }]);
    expect(out.contexts_com_my_company_product_1).toEqual([{ sku: "a" }, { sku: "b" }]);
    // The Python regex only splits lower→Upper: "FOOBar" has none.
    expect(out.contexts_com_acme_foobar_3).toEqual([{}]);
    expect(out).not.toHaveProperty("contexts");
  });

  it("appends derived contexts after contexts under the same key instead of overwriting them", () => {
    const out = transformEnrichedEvent(
      enrichedLine({
        contexts: contexts(["iglu:com.acme/session/jsonschema/1-0-0", { from: "tracker" }]),
        derived_contexts: JSON.stringify({
          schema: "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
          data: [
            { schema: "iglu:com.acme/session/jsonschema/1-0-0", data: { from: "enrichment" } },
            { schema: "iglu:nl.basjes/yauaa_context/jsonschema/1-0-4", data: { deviceClass: "Phone" } },
          ],
        }),
      }),
    );
    expect(out.contexts_com_acme_session_1).toEqual([{ from: "tracker" }, { from: "enrichment" }]);
    expect(out.contexts_nl_basjes_yauaa_context_1).toEqual([{ deviceClass: "Phone" }]);
    expect(out).not.toHaveProperty("derived_contexts");
  });

  it("puts the unstruct event's data object under its key", () => {
    const out = transformEnrichedEvent(
      enrichedLine({
        unstruct_event: unstruct("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", {
          targetUrl: "https://x.example",
        }),
      }),
    );
    expect(out.unstruct_event_com_snowplowanalytics_snowplow_link_click_1).toEqual({
      targetUrl: "https://x.example",
    });
    expect(out).not.toHaveProperty("unstruct_event");
  });

  it("accepts a trailing newline or CRLF", () => {
    const line = enrichedLine({ true_tstamp: "2024-01-02 03:04:05.000" });
    expect(transformEnrichedEvent(`${line}\r\n`)).toEqual(transformEnrichedEvent(line));
  });

  it.each([
    ["not_tsv", "just one field", "line"],
    ["field_count", enrichedLine().split("\t").slice(0, 130).join("\t"), "line"],
    ["field_count", `${enrichedLine()}\t`, "line"],
    ["empty_required", enrichedLine({ event_id: "" }), "event_id"],
    ["empty_required", enrichedLine({ collector_tstamp: "" }), "collector_tstamp"],
    ["empty_required", enrichedLine({ v_collector: "" }), "v_collector"],
    ["empty_required", enrichedLine({ v_etl: "" }), "v_etl"],
    ["invalid_int", enrichedLine({ txn_id: "12abc" }), "txn_id"],
    ["invalid_int", enrichedLine({ txn_id: "1.5" }), "txn_id"],
    ["invalid_int", enrichedLine({ page_urlport: "2147483648" }), "page_urlport"],
    ["invalid_double", enrichedLine({ geo_latitude: "1,5" }), "geo_latitude"],
    ["invalid_double", enrichedLine({ se_value: "NaN" }), "se_value"],
    ["invalid_boolean", enrichedLine({ br_cookies: "true" }), "br_cookies"],
    ["invalid_timestamp", enrichedLine({ etl_tstamp: "2024-02-30 00:00:00" }), "etl_tstamp"],
    ["invalid_timestamp", enrichedLine({ etl_tstamp: "2024-01-02T03:04:05Z" }), "etl_tstamp"],
    ["invalid_timestamp", enrichedLine({ etl_tstamp: "2024-01-02 03:04:05.1234567890" }), "etl_tstamp"],
    ["invalid_json", enrichedLine({ contexts: '{"schema":' }), "contexts"],
    [
      "invalid_json",
      enrichedLine({ unstruct_event: JSON.stringify({ schema: "x" }).slice(1) }),
      "unstruct_event",
    ],
    [
      "invalid_json",
      enrichedLine({ unstruct_event: JSON.stringify({ schema: unstructEnvelope(), data: { data: {} } }) }),
      "unstruct_event",
    ],
    [
      "invalid_iglu_uri",
      enrichedLine({ contexts: contexts(["iglu:com.acme/x/jsonschema/1-0", {}]) }),
      "contexts",
    ],
    [
      "invalid_iglu_uri",
      enrichedLine({
        derived_contexts: JSON.stringify({ schema: "iglu:com.acme/other/jsonschema/1-0-0", data: [] }),
      }),
      "derived_contexts",
    ],
  ])("rejects %s (%#)", (code, line, field) => {
    const errors = errorsOf(line);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code, field });
    expect(errors[0]?.message).toContain(field === "line" ? "131" : field);
  });

  it("collects every error of a line into one EnrichedEventError", () => {
    const line = enrichedLine({ txn_id: "x", br_cookies: "2", event_id: "", contexts: "{" });
    let caught: unknown;
    try {
      transformEnrichedEvent(line, { context: "events.tsv line 7" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnrichedEventError);
    const error = caught as EnrichedEventError;
    expect(error.code).toBe("ENRICHED_EVENT_INVALID");
    expect(error.message).toContain("events.tsv line 7");
    expect(error.errors.map((e) => e.field).sort()).toEqual(["br_cookies", "contexts", "event_id", "txn_id"]);
  });
});

function unstructEnvelope(): string {
  return "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";
}
