export * from "./create.js";
export * from "./errors.js";
export * from "./local.js";
export * from "./s3.js";
export * from "./types.js";
export * from "./uri.js";
