import type { AppContext } from '../platform/context.js';
import type { Reply } from './blocks.js';
import { handleCustomerCommand, type CommandInput } from './customer.command.js';

/** Slash command name → handler; shared by Bolt listeners and `retain slash`. */
export type SlashHandler = (ctx: AppContext, input: CommandInput) => Promise<Reply>;

export const slashHandlers = new Map<string, SlashHandler>([['/customer', handleCustomerCommand]]);

export function registerSlash(name: string, handler: SlashHandler): void {
  slashHandlers.set(name, handler);
}
