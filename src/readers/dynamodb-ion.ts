/**
 * DynamoDB exports in Amazon Ion (`outputFormat: "ION"`, data files `*.ion.gz`): each line is one Ion struct,
 * `{Item: {...}}` for a full export, `{Metadata: {WriteTimestampMicros: ...}, Keys: {...}, NewImage: {...},
 * OldImage: {...}}` for an incremental one. Attributes are plain Ion values, with the sets annotated
 * `$dynamodb_SS`, `$dynamodb_NS` and `$dynamodb_BS`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html).
 *
 * A line is turned into the DYNAMODB_JSON export's form (`{"S": ...}`, `{"N": "exact text"}`...), so both
 * formats share one reader and its type rules; ion-js (amazon-ion's maintained library) parses the text.
 */
import { type Decimal, type dom, IonTypes, loadAll } from "ion-js";

const SETS: Record<string, "SS" | "NS" | "BS"> = {
  $dynamodb_SS: "SS",
  $dynamodb_NS: "NS",
  $dynamodb_BS: "BS",
};

/** `*.ion` / `*.ion.gz` data files hold Ion; the others DYNAMODB_JSON. */
export function isIonDataFile(uri: string): boolean {
  return /\.ion(\.gz)?$/i.test(uri);
}

/** One Ion line as the DYNAMODB_JSON export record it stands for; throws (with the reason) when it is not one. */
export function ionExportRecord(text: string): unknown {
  let values: dom.Value[];
  try {
    values = loadAll(text);
  } catch (error) {
    throw new Error(`not Ion text (${(error as Error).message})`, { cause: error });
  }
  const value = values[0];
  if (values.length !== 1 || value === undefined || value.getType() !== IonTypes.STRUCT)
    throw new Error(`not one Ion struct (${values.length} values)`);
  const record: Record<string, unknown> = {};
  for (const [name, field] of value.fields()) {
    // Item / Keys / NewImage / OldImage / Metadata: each a map of attributes (anything else fails the
    // record's shape check in the reader, as a JSON line's would).
    record[name] = field.getType() === IonTypes.STRUCT && !field.isNull() ? attributeMap(field, name) : null;
  }
  return record;
}

function attributeMap(struct: dom.Value, path: string): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const [name, field] of struct.fields()) map[name] = attributeValue(field, `${path}.${name}`);
  return map;
}

/** An Ion value as a DynamoDB AttributeValue in JSON form. */
function attributeValue(value: dom.Value, path: string): unknown {
  if (value.isNull()) return { NULL: true };
  const set = value.getAnnotations().find((annotation) => annotation in SETS);
  switch (value.getType()) {
    case IonTypes.STRING:
    case IonTypes.SYMBOL:
      return { S: value.stringValue() };
    case IonTypes.BOOL:
      return { BOOL: value.booleanValue() };
    case IonTypes.INT:
    case IonTypes.DECIMAL:
    case IonTypes.FLOAT:
      return { N: numberText(value) };
    case IonTypes.BLOB:
    case IonTypes.CLOB:
      return { B: Buffer.from(value.uInt8ArrayValue()!).toString("base64") };
    case IonTypes.LIST:
    case IonTypes.SEXP: {
      const elements = [...value.elements()];
      if (set === undefined) return { L: elements.map((e, i) => attributeValue(e, `${path}[${i}]`)) };
      const kind = SETS[set]!;
      return { [kind]: elements.map((e, i) => setElement(e, kind, `${path}[${i}]`)) };
    }
    case IonTypes.STRUCT:
      return { M: attributeMap(value, path) };
    default:
      throw new Error(`${path}: Ion ${value.getType().name} has no DynamoDB type`);
  }
}

function setElement(value: dom.Value, kind: "SS" | "NS" | "BS", path: string): string {
  const element = attributeValue(value, path) as Record<string, unknown>;
  const inner = element[kind[0]!];
  if (typeof inner !== "string") throw new Error(`${path}: a ${kind} element is not a ${kind[0]} value`);
  return inner;
}

/** The exact decimal text of an Ion number (ints and decimals keep every digit; floats as JavaScript prints). */
function numberText(value: dom.Value): string {
  const type = value.getType();
  if (type === IonTypes.INT) return value.bigIntValue()!.toString();
  if (type === IonTypes.FLOAT) return String(value.numberValue());
  return decimalText(value.decimalValue()!);
}

function decimalText(decimal: Decimal): string {
  const coefficient = decimal.getCoefficient();
  const exponent = decimal.getExponent();
  const sign = decimal.isNegative() && coefficient !== 0n ? "-" : "";
  const digits = (coefficient < 0n ? -coefficient : coefficient).toString();
  if (exponent >= 0) return `${sign}${digits}${"0".repeat(coefficient === 0n ? 0 : exponent)}`;
  const padded = digits.padStart(-exponent + 1, "0");
  return `${sign}${padded.slice(0, exponent)}.${padded.slice(exponent)}`;
}
