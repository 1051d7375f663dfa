import { actions, button, context, fields, header, LIMITS, quote, section, type Block, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import { USAGE } from '../commands/command.parser.js';
import type { ScoringStatus } from '../scores/coverage.service.js';
import type { CardData } from './customer.repository.js';
import type { Candidate } from './lookup.rules.js';
import { age, BAND_EMOJI, churnPercent, formatMoney, relativeDays, shortDate } from './format.js';

/**
 * Pure Block Kit builders for the lookup card and its siblings (choices, not
 * found, help). Every customer-supplied string is escaped.
 */
export interface CardOptions {
  now: Date;
  /** Pre-rendered unicode sparkline of recent health scores. */
  trend: string;
  shareable?: boolean;
}

/** What the card says when the score is missing or behind its data (see scores/coverage.service). */
const SCORING_NOW = '⏳ Scoring now — back in a few seconds: run `/customer` again for health, tier and drivers.';
const NOT_SCORED = {
  scoring: `_Not scored yet._ ${SCORING_NOW}`,
  waiting: '_Not scored yet — it is scored as soon as a worker runs (`retain start` or `retain worker`)._',
  current: '_Not scored yet — no signals, feedback or logged touches to score yet._',
} as const;

export function customerCard(card: CardData & { scoring?: ScoringStatus }, opts: CardOptions): Reply {
  const { now } = opts;
  const blocks: Block[] = [header(card.name)];
  const idLine = [escapeMrkdwn(card.externalId), card.domain ? escapeMrkdwn(card.domain) : null, card.plan ? `plan ${escapeMrkdwn(card.plan)}` : null]
    .filter(Boolean)
    .join(' · ');
  blocks.push(context(idLine + (card.status === 'churned' ? ' · *churned*' : '')));

  const s = card.score;
  if (s) {
    const delta =
      s.previousHealth !== null && s.previousHealth !== s.health ? ` (${s.health > s.previousHealth ? '+' : ''}${s.health - s.previousHealth})` : '';
    const churn =
      s.churnProbability != null && s.churnHorizonDays ? ` · chance of churn in the next ${s.churnHorizonDays} days: ${churnPercent(s.churnProbability)}` : '';
    const lines = [`${BAND_EMOJI[s.band]} *Health ${s.health}*${delta} · ${s.band}${churn}${opts.trend ? `   ${opts.trend}` : ''}`];
    if (s.drivers.length) lines.push(...s.drivers.slice(0, 4).map((d) => `${d.direction === 'down' ? '↓' : '↑'} ${escapeMrkdwn(d.text)}`));
    if (s.stale.length) lines.push(...s.stale.slice(0, 3).map((t) => `⚠️ ${escapeMrkdwn(t)}`));
    blocks.push(section(lines.join('\n')));
    const weights = s.measures
      .filter((m) => m.weight > 0)
      .sort((a, b) => b.weight - a.weight)
      .map((m) => `${m.key} ${Math.round(m.weight * 100)}%`)
      .join(', ');
    const newest = s.newestDataAt ? `newest data ${age(s.newestDataAt, now)}` : 'no signals yet';
    blocks.push(context(`scored ${age(s.scoredAt, now)} · ${newest}${weights ? ` · weights: ${weights}` : ''}`));
    if (card.scoring === 'scoring') blocks.push(context('⏳ New data since this score — rescoring now, back in a few seconds.'));
  } else {
    blocks.push(section(card.scoring ? NOT_SCORED[card.scoring] : '_Not scored yet — the next scoring run will add health, tier and drivers._'));
  }

  const owner = card.ownerSlackId
    ? `${mention(card.ownerSlackId)}${card.ownerSince ? `\nsince ${shortDate(card.ownerSince)}` : ''}${card.lastOwnershipEvent?.fromSlackId ? `, from ${mention(card.lastOwnershipEvent.fromSlackId)}` : ''}`
    : '_unowned_ — `/customer claim` it';
  const renewal = card.renewalDate ? `${shortDate(card.renewalDate)}\n${relativeDays(card.renewalDate, now)}` : 'unknown';
  const pairs: [string, string][] = [
    ['Owner', owner],
    ['Team', card.teamName ? escapeMrkdwn(card.teamName) : '_none_'],
    ['ARR', formatMoney(card.arr, card.currency)],
    ['Renewal', renewal],
  ];
  if (s) {
    pairs.push(['Tier · segment', `${s.tier ?? '–'} · ${s.segment ? escapeMrkdwn(s.segment) : '–'}`]);
    const model: string[] = [];
    if (s.pAlive !== null) model.push(`P(alive) ${s.pAlive.toFixed(2)}`);
    if (s.clv !== null) model.push(`CLV ${formatMoney(s.clv, card.currency)}`);
    if (model.length) pairs.push(['Purchase model', model.join('\n')]);
  }
  pairs.push([
    'Last touch',
    card.lastInteraction
      ? `${escapeMrkdwn(card.lastInteraction.kind)} ${relativeDays(card.lastInteraction.occurredAt, now)} by ${mention(card.lastInteraction.authorSlackId)}`
      : '_never logged_',
  ]);
  blocks.push(fields(pairs));

  if (card.lastInteraction?.note) blocks.push(context(`Last note: “${quote(card.lastInteraction.note, 200)}”`));
  if (card.latestFeedback) {
    blocks.push(
      context(
        `Latest feedback (${escapeMrkdwn(card.latestFeedback.kind)}, ${relativeDays(card.latestFeedback.createdAt, now)}): “${quote(card.latestFeedback.text, 280)}”`,
      ),
    );
  }
  if (opts.shareable !== false) blocks.push(actions('card_actions', button(ACTIONS.shareCard, 'Share to channel', card.id)));

  const fallback = s ? `${card.name}: health ${s.health} (${s.band})` : `${card.name}: not scored yet`;
  return { text: safeText(fallback, 300), blocks, responseType: 'ephemeral' };
}

/**
 * Several customers match. Each button opens that customer's card or, when the
 * person was in the middle of a command (`resume` gives the command to re-run
 * for a pick), finishes that command for the customer picked.
 */
export function chooseReply(query: string, matches: Candidate[], resume?: (c: Candidate) => string | null): Reply {
  const blocks: Block[] = [section(`Several customers match “${quote(query, 100)}”. Which one?`)];
  blocks.push(
    actions(
      'choose_customer',
      ...matches.slice(0, 5).map((m) => {
        const label = `${m.name}${m.domain ? ` (${m.domain})` : ''}`;
        const next = resume?.(m);
        // Button values hold at most 2,000 characters; a longer command falls back to the card.
        return next && next.length <= LIMITS.buttonValue ? button(ACTIONS.resumeCommand, label, next) : button(ACTIONS.openCard, label, m.id);
      }),
    ),
  );
  return { text: `Several customers match “${query.slice(0, 100)}”`, blocks, responseType: 'ephemeral' };
}

export function notFoundReply(query: string, nearest: Candidate[]): Reply {
  const suggestion = nearest.length
    ? `Nearest names: ${nearest.map((n) => `*${escapeMrkdwn(n.name)}*`).join(', ')}.`
    : 'The book has no customer with a similar name yet.';
  const blocks: Block[] = [section(`No customer matches “${quote(query, 100)}”. ${suggestion}`)];
  if (nearest.length) blocks.push(actions('nearest_customers', ...nearest.map((m) => button(ACTIONS.openCard, m.name, m.id))));
  blocks.push(context(`Try a part of the name, the domain (acme.com) or the external id: \`${USAGE.lookup}\``));
  return { text: `No customer matches “${query.slice(0, 100)}”`, blocks, responseType: 'ephemeral' };
}
