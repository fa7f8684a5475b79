/** Apache Iceberg tables (format version 2): commits, catalogs, reading and maintenance. */
export * from "./avro.js";
export * from "./catalog.js";
export * from "./commit.js";
export * from "./errors.js";
export * from "./glue.js";
export * from "./maintenance.js";
export * from "./manifests.js";
export * from "./metadata.js";
export * from "./schema.js";
export * from "./table.js";
export * from "./values.js";
