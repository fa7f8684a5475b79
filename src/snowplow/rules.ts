/**
 * The field rules of an enriched event line: ONE implementation used by the JSON transform (per line, in
 * JavaScript), by the reader (vectorised: it uses the same patterns inside polars, then calls
 * `validateEnrichedFields` on the rejected lines only, to word the errors), and by the generator's tests.
 */
import type { EnrichedErrorCode, FieldError } from "./errors.js";
import { ENRICHED_FIELD_COUNT, ENRICHED_FIELDS, type EnrichedFieldType } from "./fields.js";
import {
  CONTEXTS_ENVELOPE_PATTERN,
  type IgluSchemaKey,
  parseIgluUri,
  type ShreddedPrefix,
  shreddedKey,
  UNSTRUCT_ENVELOPE_PATTERN,
} from "./iglu.js";

/**
 * Text patterns of the scalar types. Written in the regex subset JavaScript and Rust (polars) share, so
 * the reader can run them vectorised. Ints and timestamps also need the checks in `scalarError`
 * (Int32 range, calendar date), which polars gets from its casts.
 */
export const SCALAR_PATTERNS = {
  /** Optional sign and digits, as Java's Integer.parseInt: "12abc", "1.5" and " 1" are rejected. */
  int: "^[+-]?[0-9]+$",
  /** Plain decimal with optional exponent; no NaN, Infinity, hex or surrounding blanks. */
  double: "^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$",
  boolean: "^[01]$",
  /** yyyy-MM-dd HH:mm:ss with 0–9 fraction digits, UTC without a zone marker. */
  timestamp:
    "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?$",
} as const;

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const INT_RE = new RegExp(SCALAR_PATTERNS.int);
const DOUBLE_RE = new RegExp(SCALAR_PATTERNS.double);
const BOOLEAN_RE = new RegExp(SCALAR_PATTERNS.boolean);
const TIMESTAMP_RE = new RegExp(SCALAR_PATTERNS.timestamp);

export const REQUIRED_FIELDS: readonly string[] = ENRICHED_FIELDS.filter((f) => "required" in f).map(
  (f) => f.name,
);

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function error(code: EnrichedErrorCode, field: string, value: string, message: string): FieldError {
  return { code, field, value, message };
}

/** The error for a non-empty scalar value, or undefined when it is valid. */
export function scalarError(field: string, type: EnrichedFieldType, value: string): FieldError | undefined {
  switch (type) {
    case "int": {
      if (!INT_RE.test(value) || Number(value) < INT32_MIN || Number(value) > INT32_MAX) {
        return error(
          "invalid_int",
          field,
          value,
          `cannot parse ${field} value "${value}" as a 32-bit integer`,
        );
      }
      return undefined;
    }
    case "double":
      if (!DOUBLE_RE.test(value) || !Number.isFinite(Number(value))) {
        return error(
          "invalid_double",
          field,
          value,
          `cannot parse ${field} value "${value}" as a finite double`,
        );
      }
      return undefined;
    case "boolean":
      return BOOLEAN_RE.test(value)
        ? undefined
        : error(
            "invalid_boolean",
            field,
            value,
            `cannot parse ${field} value "${value}" as a boolean (0 or 1)`,
          );
    case "timestamp": {
      const ok =
        TIMESTAMP_RE.test(value) &&
        Number(value.slice(8, 10)) <= daysInMonth(Number(value.slice(0, 4)), Number(value.slice(5, 7)));
      return ok
        ? undefined
        : error(
            "invalid_timestamp",
            field,
            value,
            `cannot parse ${field} value "${value}" as a timestamp (yyyy-MM-dd HH:mm:ss[.fraction], UTC)`,
          );
    }
    default:
      return undefined;
  }
}

/** One self-describing entry of a JSON column, with its analytics-SDK key. */
export interface SelfDescribingEntry {
  schema: string;
  key: string;
  data: unknown;
}

// Schemas repeat across events: cache each URI's key (or its rejection) instead of re-running the regex.
// One map per prefix, keyed by the URI itself: a "prefix|uri" key cost a concatenation and the hash of a
// new string per entry (~10% of the JSON checks on 47k distinct contexts).
const keyCache: Record<ShreddedPrefix, Map<string, string | null>> = {
  contexts: new Map(),
  unstruct_event: new Map(),
};

function entryKey(prefix: ShreddedPrefix, schema: string): string | null {
  const cache = keyCache[prefix];
  let key = cache.get(schema);
  if (key === undefined) {
    const parsed: IgluSchemaKey | undefined = parseIgluUri(schema);
    key = parsed ? shreddedKey(prefix, parsed) : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(schema, key);
  }
  return key;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads one self-describing `{schema, data}` object; pushes an error and returns undefined when it is not one. */
function selfDescribing(
  prefix: ShreddedPrefix,
  field: string,
  raw: string,
  node: unknown,
  errors: FieldError[],
): SelfDescribingEntry | undefined {
  if (!isObject(node) || typeof node.schema !== "string" || !("data" in node)) {
    errors.push(
      error("invalid_json", field, raw, `${field} holds an entry that is not a {"schema","data"} object`),
    );
    return undefined;
  }
  const key = entryKey(prefix, node.schema);
  if (key === null) {
    errors.push(
      error("invalid_iglu_uri", field, raw, `${field} holds an invalid Iglu schema URI "${node.schema}"`),
    );
    return undefined;
  }
  return { schema: node.schema, key, data: node.data };
}

/** Parses a non-empty JSON column envelope; returns its entries, or pushes errors and returns undefined. */
export function parseJsonColumn(
  field: string,
  type: "contexts" | "unstruct",
  value: string,
  errors: FieldError[],
): SelfDescribingEntry[] | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    errors.push(error("invalid_json", field, value, `${field} is not valid JSON: ${reason}`));
    return undefined;
  }
  if (!isObject(envelope) || typeof envelope.schema !== "string") {
    errors.push(error("invalid_json", field, value, `${field} is not a self-describing JSON envelope`));
    return undefined;
  }
  const envelopePattern = type === "contexts" ? CONTEXTS_ENVELOPE_PATTERN : UNSTRUCT_ENVELOPE_PATTERN;
  if (!envelopePattern.test(envelope.schema)) {
    errors.push(
      error(
        "invalid_iglu_uri",
        field,
        value,
        `${field} has an unexpected envelope schema "${envelope.schema}"`,
      ),
    );
    return undefined;
  }
  const before = errors.length;
  if (type === "contexts") {
    if (!Array.isArray(envelope.data)) {
      errors.push(error("invalid_json", field, value, `${field} envelope data is not an array`));
      return undefined;
    }
    const entries: SelfDescribingEntry[] = [];
    for (const node of envelope.data) {
      const entry = selfDescribing("contexts", field, value, node, errors);
      if (entry) entries.push(entry);
    }
    return errors.length === before ? entries : undefined;
  }
  const entry = selfDescribing("unstruct_event", field, value, envelope.data, errors);
  return entry ? [entry] : undefined;
}

/** Splits a line (without its newline) into fields; a trailing CR (CRLF files) is not part of the last field. */
export function splitEnrichedLine(line: string): string[] {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  return text.split("\t");
}

/** The whole-line error when the field count is wrong, else undefined. */
export function fieldCountError(fields: readonly string[]): FieldError | undefined {
  if (fields.length === ENRICHED_FIELD_COUNT) return undefined;
  const count = String(fields.length);
  return fields.length === 1
    ? error("not_tsv", "line", count, `line is not tab-separated (1 field, expected ${ENRICHED_FIELD_COUNT})`)
    : error("field_count", "line", count, `expected ${ENRICHED_FIELD_COUNT} fields, found ${fields.length}`);
}

/** Parsed JSON columns of a valid line, keyed by column name. */
export type ParsedJsonColumns = Partial<
  Record<"contexts" | "derived_contexts" | "unstruct_event", SelfDescribingEntry[]>
>;

/**
 * Checks every field of a split line and returns all errors at once (empty when valid), plus the parsed
 * JSON columns so callers need not parse them twice.
 */
export function validateEnrichedFields(fields: readonly string[]): {
  errors: FieldError[];
  json: ParsedJsonColumns;
} {
  const json: ParsedJsonColumns = {};
  const countError = fieldCountError(fields);
  if (countError) return { errors: [countError], json };
  const errors: FieldError[] = [];
  for (let index = 0; index < ENRICHED_FIELD_COUNT; index++) {
    const spec = ENRICHED_FIELDS[index] as (typeof ENRICHED_FIELDS)[number];
    const value = fields[index] as string;
    if (value === "") {
      if ("required" in spec) {
        errors.push(error("empty_required", spec.name, value, `field ${spec.name} cannot be empty`));
      }
      continue;
    }
    if (spec.type === "contexts" || spec.type === "unstruct") {
      const entries = parseJsonColumn(spec.name, spec.type, value, errors);
      if (entries) json[spec.name as keyof ParsedJsonColumns] = entries;
      continue;
    }
    const problem = scalarError(spec.name, spec.type, value);
    if (problem) errors.push(problem);
  }
  return { errors, json };
}
