/** How the `runs` and `tracker` commands reach DynamoDB: the same two options, one client per command. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";

export interface DynamoConnectionOptions {
  region?: string;
  endpoint?: string;
}

/** Adds --region and --endpoint (default AWS_ENDPOINT_URL_DYNAMODB, e.g. DynamoDB Local). */
// biome-ignore lint/suspicious/noExplicitAny: commander's own argument-list type
export function withDynamoOptions<A extends any[], O extends OptionValues>(command: Command<A, O>) {
  return command
    .addOption(new Option("--region <region>", "AWS region of the table (default: AWS_REGION)"))
    .addOption(
      new Option("--endpoint <url>", "DynamoDB endpoint, e.g. DynamoDB Local").env(
        "AWS_ENDPOINT_URL_DYNAMODB",
      ),
    );
}

/** Runs `fn` with a client for those options (the AWS SDK is imported only now) and closes it after. */
export async function withDynamoClient<T>(
  options: DynamoConnectionOptions,
  fn: (client: DynamoDBClient) => Promise<T>,
): Promise<T> {
  const [{ createDynamoDBClient }, { explainConnectionError }] = await Promise.all([
    import("../clients/aws.js"),
    import("../errors.js"),
  ]);
  const client = createDynamoDBClient({ region: options.region, endpoint: options.endpoint });
  try {
    return await fn(client);
  } catch (error) {
    const setting = "--endpoint (or AWS_ENDPOINT_URL_DYNAMODB)";
    throw explainConnectionError(error, [{ url: options.endpoint, setting }]) ?? error;
  } finally {
    client.destroy();
  }
}
