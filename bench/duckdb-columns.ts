import { ENRICHED_FIELDS, type EnrichedFieldType } from "../src/snowplow/fields.js";

function duckdbType(type: EnrichedFieldType): string {
  switch (type) {
    case "int":
      return "INTEGER";
    case "double":
      return "DOUBLE";
    case "boolean":
      return "BOOLEAN";
    case "timestamp":
      return "TIMESTAMP";
    default:
      return "VARCHAR";
  }
}

/** The 131 enriched fields as DuckDB read_csv's `columns={...}` body, typed like snaplake's frame. */
export function enrichedDuckdbColumns(): string {
  return ENRICHED_FIELDS.map((f) => `'${f.name}': '${duckdbType(f.type)}'`).join(", ");
}
