/**
 * `snaplake/table`: the lake-table seam (`openLakeTable`: hive, Delta or Iceberg) and Delta Lake tables:
 * commits, time travel, history, optimize and vacuum; Apache Iceberg tables (`iceberg`: commits, the
 * filesystem and Glue catalogs, history, vacuum); optimize planning shared by both formats.
 *
 * @module snaplake/table
 */
export * from "../table/delta/index.js";
export * as iceberg from "../table/iceberg/index.js";
export * from "../table/index.js";
export * from "../table/optimize-plan.js";
