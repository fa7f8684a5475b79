/**
 * `snaplake sfn-definition --config <file> --lambda-arn <arn> [--max-concurrency N] ...`: prints the AWS Step
 * Functions state machine (ASL JSON) that runs the project on the snaplake Lambda, ready for
 * `aws stepfunctions create-state-machine --definition file://...`. Settings the state machine must agree
 * with (project id, staging bucket, lease length, attempts) are taken from the config file.
 * The config reader and the state machine builder are imported when the command runs (fast CLI start).
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { configOption, wholeNumber } from "../options.js";

export function register(program: Command): void {
  program
    .command("sfn-definition")
    .description(
      "Print the Step Functions state machine (ASL JSON) that runs a project on the snaplake Lambda",
    )
    .addOption(configOption("project config file (the one the Lambda reads)"))
    .addOption(new Option("--lambda-arn <arn>", "ARN of the snaplake Lambda function").makeOptionMandatory())
    .option(
      "--max-concurrency <n>",
      "Lambda invocations at a time per Distributed Map (default 50)",
      wholeNumber(1, 10_000),
    )
    .option(
      "--tolerated-failure-percentage <n>",
      "share of tasks that may fail for good without failing the execution (default 0)",
      wholeNumber(0, 100),
    )
    .option(
      "--task-timeout <seconds>",
      "TimeoutSeconds of each Lambda state (default: the Lambda's own timeout)",
      wholeNumber(1, 86_400),
    )
    .option(
      "--config-uri <uri>",
      "pass this config URI to the Lambda in every event (overrides its environment)",
    )
    .action(
      action(async (options) => {
        const [{ loadConfigFile }, { assertRunsOnStepFunctions, buildStateMachine }] = await Promise.all([
          import("../config-file.js"),
          import("../../aws/state-machine.js"),
        ]);
        const { config } = await loadConfigFile(options.config);
        const { stagingBucket } = assertRunsOnStepFunctions(config, options.config);
        const definition = buildStateMachine({
          lambdaArn: options.lambdaArn,
          projectId: config.projectId,
          todoBucket: stagingBucket,
          leaseSeconds: config.tracker.leaseSeconds,
          // The tracker's maxAttempts bounds task attempts; the state machine retries up to that many.
          taskRetries: Math.min(10, Math.max(0, config.tracker.maxAttempts - 1)),
          ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
          ...(options.toleratedFailurePercentage !== undefined
            ? { toleratedFailurePercentage: options.toleratedFailurePercentage }
            : {}),
          ...(options.taskTimeout !== undefined ? { taskTimeoutSeconds: options.taskTimeout } : {}),
          ...(options.configUri ? { configUri: options.configUri } : {}),
        });
        process.stdout.write(`${JSON.stringify(definition, null, 2)}\n`);
        return ExitCode.ok;
      }),
    );
}
