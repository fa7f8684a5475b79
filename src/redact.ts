/** Keeps credentials out of logs, errors and summaries. */

const SECRET_KEY = /secret|password|token|credential|accesskey|access_key|authorization|signature/i;

/** Deep-copies `value`, replacing the values of secret-looking keys with "[redacted]". */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && v != null ? "[redacted]" : redactSecrets(v);
    }
    return out as T;
  }
  return value;
}

/** Removes known secret strings (e.g. keys read from a config file) from free text such as error messages. */
export function scrubText(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
