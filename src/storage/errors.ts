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
  readonly root: string;
  constructor(uri: string, root: string) {
    super(
      "OUTSIDE_ROOT",
      uri,
      `${uri} is outside the local storage root ${root}; keys may not contain ".." segments or be absolute`,
    );
    this.root = root;
  }
}
