import { SnaplakeError } from "../errors.js";

/**
 * Why a line or a field was rejected. One code per error class, shared by the reader, the JSON transform
 * and the generator's ground truth.
 */
export type EnrichedErrorCode =
  /** The line has a single field (no tab at all), e.g. a blank line (Scala SDK: NotTSV). */
  | "not_tsv"
  /** The line has more than one but not exactly 131 fields (Scala SDK: FieldNumberMismatch). */
  | "field_count"
  /** The line's bytes are not valid UTF-8. */
  | "invalid_utf8"
  /** event_id, collector_tstamp, v_collector or v_etl is empty. */
  | "empty_required"
  | "invalid_int"
  | "invalid_double"
  | "invalid_boolean"
  | "invalid_timestamp"
  /** contexts / derived_contexts / unstruct_event is not valid JSON or not a self-describing envelope. */
  | "invalid_json"
  /** A schema in a JSON column is not a valid Iglu URI, or the envelope schema is not the expected one. */
  | "invalid_iglu_uri";

/** One reason a line was rejected. `field` is a column name, or "line" for whole-line errors. */
export interface FieldError {
  code: EnrichedErrorCode;
  field: string;
  value: string;
  message: string;
}

/** Thrown by `transformEnrichedEvent` with every error of the line at once (like the analytics SDKs). */
export class EnrichedEventError extends SnaplakeError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], context?: string) {
    const where = context ? `${context}: ` : "";
    super(
      "ENRICHED_EVENT_INVALID",
      `${where}invalid enriched event: ${errors.map((e) => e.message).join("; ")}`,
    );
    this.errors = errors;
  }
}
