import { type ErrorCode, SnaplakeError } from "../errors.js";

export class StorageError extends SnaplakeError {
  readonly uri: string;
  constructor(code: ErrorCode, uri: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.uri = uri;
  }
}

export class InvalidUriError extends StorageError {
  constructor(uri: string, reason: string) {
    super("INVALID_URI", uri, `Invalid storage URI "${uri}": ${reason}`);
  }
}

export class ObjectNotFoundError extends StorageError {
  constructor(uri: string, options?: { cause?: unknown }) {
    super("OBJECT_NOT_FOUND", uri, `No object at ${uri}`, options);
  }
}

/** A create-only write found the object already there (`putIfAbsent`). */
export class ObjectExistsError extends StorageError {
  constructor(uri: string, options?: { cause?: unknown }) {
    super(
      "OBJECT_EXISTS",
      uri,
      `${uri} already exists; a create-only write never replaces an object`,
      options,
    );
  }
}

export class BucketNotFoundError extends StorageError {
  readonly bucket: string;
  constructor(bucket: string, uri: string, options?: { cause?: unknown }) {
    super("BUCKET_NOT_FOUND", uri, `Bucket "${bucket}" does not exist (while accessing ${uri})`, options);
    this.bucket = bucket;
  }
}

export class AccessDeniedError extends StorageError {
  constructor(uri: string, options?: { cause?: unknown }) {
    super(
      "ACCESS_DENIED",
      uri,
      `Access denied to ${uri}: check the credentials' permissions for this bucket and key`,
      options,
    );
  }
}

export class OutsideRootError extends StorageError {
  /** The allowed roots, joined with ", " (one root: the root itself). */
  readonly root: string;
  readonly roots: readonly string[];
  /** Set when the path itself is inside a root but a symbolic link takes it elsewhere. */
  readonly realPath: string | undefined;
  constructor(uri: string, roots: string | readonly string[], realPath?: string) {
    const list = typeof roots === "string" ? [roots] : [...roots];
    const where =
      list.length === 1 ? `the local storage root ${list[0]}` : `the local storage roots ${list.join(", ")}`;
    super(
      "OUTSIDE_ROOT",
      uri,
      realPath === undefined
        ? `${uri} is outside ${where}; keys may not contain ".." segments or lie elsewhere`
        : `${uri} is a symbolic link (or lies under one) to ${realPath}, outside ${where}: refused, so nothing outside the roots is read or written`,
    );
    this.roots = list;
    this.root = list.join(", ");
    this.realPath = realPath;
  }
}

/** A conditional read found another object than the one recorded (its etag changed). */
export class ObjectChangedError extends StorageError {
  readonly expectedEtag: string;
  readonly actualEtag: string;
  constructor(uri: string, expectedEtag: string, actualEtag: string, options?: { cause?: unknown }) {
    super(
      "OBJECT_CHANGED",
      uri,
      `${uri} changed since it was listed: etag ${expectedEtag} was recorded, it is now ${actualEtag}`,
      options,
    );
    this.expectedEtag = expectedEtag;
    this.actualEtag = actualEtag;
  }
}
