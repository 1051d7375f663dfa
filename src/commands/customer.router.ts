import type { AppContext } from '../platform/context.js';
import type { Reply } from '../slack/blocks.js';
import { guarded } from '../slack/guard.js';
import { invalidReply } from '../slack/replies.js';
import type { CommandInput } from '../slack/slash.js';
import { parseCustomerCommand, type CustomerCommand } from './command.parser.js';
import { helpReply } from './help.blocks.js';

type Sub = Exclude<CustomerCommand, { kind: 'help' | 'invalid' }>;
/** `/customer <verb>` handlers by parsed kind; features contribute theirs (the customers feature owns `lookup`). */
export type SubcommandHandlers = { [K in Sub['kind']]?: (ctx: AppContext, input: CommandInput, command: Extract<Sub, { kind: K }>) => Promise<Reply> };

/** `/customer …`: parse → the feature's subcommand → reply; help and bad input answered here. */
export async function handleCustomerCommand(ctx: AppContext, input: CommandInput): Promise<Reply> {
  const command = parseCustomerCommand(input.text);
  return guarded(ctx.logger, `/customer ${command.kind}`, async () => {
    switch (command.kind) {
      case 'help':
        return helpReply();
      case 'invalid':
        return invalidReply(command.problem, command.usage);
      default: {
        const handler = ctx.wiring.subcommands[command.kind] as ((c: AppContext, i: CommandInput, cmd: typeof command) => Promise<Reply>) | undefined;
        if (!handler) return invalidReply(`\`/customer ${command.kind}\` is not enabled on this installation.`, '/customer help');
        return handler(ctx, input, command);
      }
    }
  });
}
