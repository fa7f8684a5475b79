/** `snaplake completion bash|zsh`: prints the shell completion script, generated from the command tree. */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { bashCompletion, zshCompletion } from "../completion.js";
import { ExitCode } from "../exit-codes.js";

const SHELLS = { bash: bashCompletion, zsh: zshCompletion } as const;

export function register(program: Command): void {
  program
    .command("completion")
    .description("print the shell completion script: source <(snaplake completion bash)  (or zsh)")
    .argument("<shell>", "bash or zsh", (value) => {
      if (!(value in SHELLS)) throw new InvalidArgumentError("use bash or zsh");
      return value as keyof typeof SHELLS;
    })
    .action(
      action(async (shell) => {
        process.stdout.write(SHELLS[shell](program));
        return ExitCode.ok;
      }),
    );
}
