import type { App, BlockButtonAction, RespondArguments } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../platform/context.js';
import { Admission } from '../platform/admission.js';
import { isBusy } from '../platform/errors.js';
import { metrics } from '../platform/metrics.js';
import { plainReply, type Reply } from './blocks.js';
import { ACTIONS } from './ids.js';
import { busyReply } from './replies.js';
import { toRespond } from './respond.js';

/** Who typed the command, where, and what. The same for Bolt, the CLI and tests. */
export interface CommandInput {
  userId: string;
  channelId: string;
  text: string;
  triggerId?: string;
}

/** A slash command's handler: input → the reply the person sees. Shared by Bolt listeners and `retain slash`. */
export type SlashHandler = (ctx: AppContext, input: CommandInput) => Promise<Reply>;

/**
 * The value of a "which one?" button that finishes a command for the customer
 * picked: the slash command and its text rewritten to name that customer.
 */
const resumeSchema = z.object({ c: z.string().regex(/^\/[a-z0-9_-]+$/), t: z.string().min(1).max(2_000) });
export function resumeValue(command: string, text: string): string {
  return JSON.stringify({ c: command, t: text });
}
function parseResume(value: string | undefined): z.infer<typeof resumeSchema> | null {
  try {
    const parsed = resumeSchema.safeParse(JSON.parse(value ?? ''));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The bound on slash work in one process (every command shares it). */
export function slashAdmission(ctx: AppContext): Admission {
  return new Admission(ctx.config.settings.slash);
}

/**
 * The answer to a slash command that arrives when the process is at its bound
 * and its queue is full — "busy" — or null when the command may take its
 * turn. Given in the HTTP answer itself, before Bolt sees the request: in a
 * burst most arrivals are refused, and refusing each must cost far less than
 * serving one (no listener chain, no second request to the response_url).
 */
export function refuseAtOnce(admission: Admission, body: Record<string, unknown>): RespondArguments | null {
  if (typeof body.command !== 'string' || !admission.full) return null;
  metrics.slashShed.inc({ command: body.command });
  return toRespond(busyReply());
}

/**
 * Every slash command the features contribute, with one thin listener each:
 * ack first (Slack wants it within 3 s, before any database work), then the
 * handler, then the reply on the response_url. Plus the "which one?" resume,
 * which re-runs the person's command for the customer they picked — as the
 * clicker, so every permission check applies to them.
 */
export function registerSlashCommands(app: App, ctx: AppContext, admission: Admission = slashAdmission(ctx)): void {
  // One bound per process for every command: beyond it, "busy" at once rather than a queue that misses Slack's 3 seconds.
  const admitted = async (command: string, run: () => Promise<Reply>): Promise<Reply> => {
    const started = Date.now();
    try {
      return await admission.run(async () => {
        metrics.slashQueueWait.observe({}, (Date.now() - started) / 1000);
        return run();
      });
    } catch (error) {
      if (!isBusy(error)) throw error;
      metrics.slashShed.inc({ command });
      return busyReply();
    }
  };
  for (const [name, handler] of ctx.wiring.slash) {
    app.command(name, async ({ command, ack, respond }) => {
      await ack();
      const input: CommandInput = { userId: command.user_id, channelId: command.channel_id, text: command.text ?? '', triggerId: command.trigger_id };
      const reply = await metrics.slashLatency.time({ command: name }, () => admitted(name, () => handler(ctx, input)));
      await respond(toRespond(reply));
    });
  }

  app.action<BlockButtonAction>(ACTIONS.resumeCommand, async ({ action, ack, respond, body }) => {
    await ack();
    const resume = parseResume(action.value);
    const handler = resume ? ctx.wiring.slash.get(resume.c) : undefined;
    const reply =
      resume && handler
        ? await admitted(resume.c, () => handler(ctx, { userId: body.user.id, channelId: body.channel?.id ?? '', text: resume.t }))
        : plainReply('That choice has expired. Please type the command again.');
    await respond(toRespond({ ...reply, replaceOriginal: true }));
  });
}
