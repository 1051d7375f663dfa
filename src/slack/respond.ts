import type { RespondArguments } from '@slack/bolt';
import type { Reply } from './blocks.js';

/** A Reply as Bolt's respond() arguments: ephemeral unless shared. */
export function toRespond(reply: Reply): RespondArguments {
  return {
    text: reply.text,
    blocks: reply.blocks as never,
    response_type: reply.responseType ?? 'ephemeral',
    ...(reply.replaceOriginal ? { replace_original: true } : {}),
  } as RespondArguments;
}
