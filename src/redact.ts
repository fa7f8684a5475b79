/** Keeps credentials out of logs, errors and summaries. */

/** Removes known secret strings (e.g. keys read from a config file) from free text such as error messages. */
export function scrubText(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
