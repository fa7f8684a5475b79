export * from "./aws/clients.js";
export * from "./errors.js";
export * from "./storage/errors.js";
export * from "./storage/types.js";
export * from "./storage/uri.js";
