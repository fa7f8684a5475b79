/**
 * `snaplake/table`: the lake-table seam (`openLakeTable`) and Delta Lake tables: commits, time travel,
 * history, optimize and vacuum; Apache Iceberg tables (the library: filesystem and Glue catalogs).
 *
 * @module snaplake/table
 */
export * from "../table/delta/index.js";
export * as iceberg from "../table/iceberg/index.js";
export * from "../table/index.js";
