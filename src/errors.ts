/**
 * Base class of every error snaplake throws on purpose. `code` is stable and machine-readable;
 * the message says what went wrong and what to do about it.
 */
export class SnaplakeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Configuration or external JSON failed validation; `issues` name each field at fault. */
export class ConfigError extends SnaplakeError {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super("CONFIG_INVALID", `${source} is invalid: ${issues.join("; ")}`);
    this.issues = issues;
  }
}

/** Formats zod issues as `path.to.field: message`, never echoing the offending values (they may be secrets). */
export function formatZodIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
