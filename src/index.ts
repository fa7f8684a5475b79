export * from "./aws/clients.js";
export * from "./errors.js";
export * from "./snowplow/index.js";
export * from "./storage/index.js";
export * from "./tracker/index.js";
