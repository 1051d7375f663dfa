import { helpReply, invalidReply } from '../customers/card.blocks.js';
import { lookupCustomer } from '../customers/lookup.service.js';
import type { AppContext } from '../platform/context.js';
import type { Reply } from './blocks.js';
import { parseCustomerCommand, type CustomerCommand } from './command.parser.js';
import { guarded } from './guard.js';

/** Who typed the command, where, and what. The same for Bolt, the CLI and tests. */
export interface CommandInput {
  userId: string;
  channelId: string;
  text: string;
  triggerId?: string;
}

type Sub = Exclude<CustomerCommand, { kind: 'help' | 'lookup' | 'invalid' }>;
export type SubcommandHandler = (ctx: AppContext, input: CommandInput, command: never) => Promise<Reply>;
/** Feature modules (ownership, feedback…) register the subcommands they own. */
export type SubcommandHandlers = { [K in Sub['kind']]?: (ctx: AppContext, input: CommandInput, command: Extract<Sub, { kind: K }>) => Promise<Reply> };

const subcommands: SubcommandHandlers = {};

export function registerSubcommands(handlers: SubcommandHandlers): void {
  Object.assign(subcommands, handlers);
}

/** `/customer …`: parse → service → reply. */
export async function handleCustomerCommand(ctx: AppContext, input: CommandInput): Promise<Reply> {
  const command = parseCustomerCommand(input.text);
  return guarded(ctx.logger, `/customer ${command.kind}`, async () => {
    switch (command.kind) {
      case 'help':
        return helpReply();
      case 'invalid':
        return invalidReply(command.problem, command.usage);
      case 'lookup':
        return lookupCustomer(ctx, command.query);
      default: {
        const handler = subcommands[command.kind] as ((c: AppContext, i: CommandInput, cmd: typeof command) => Promise<Reply>) | undefined;
        if (!handler) return invalidReply(`\`/customer ${command.kind}\` is not enabled on this installation.`, '/customer help');
        return handler(ctx, input, command);
      }
    }
  });
}
