import { defineConfig } from "vitest/config";

// The suite runs on Node 20 on purpose; the AWS SDK's reminder about Node 22 (printed by every process that
// creates a client: this one, the test workers, spawned CLIs) would bury the real output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Native polars and child-process workers are happier in forks than in worker threads.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
