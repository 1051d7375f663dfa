import { INTERACTION_KINDS, type InteractionKind } from '../feedback/feedback.table.js';

/**
 * Pure parsers for `/customer` and `/feedback` text. Any string in, a value out,
 * never a throw (property-tested). Slack sends user mentions as `<@U123|name>`
 * when the manifest sets should_escape on the command.
 */
export type CustomerCommand =
  | { kind: 'help' }
  | { kind: 'lookup'; query: string }
  | { kind: 'mine'; page: number }
  | { kind: 'claim'; query: string; reason: string | null; rest?: string }
  | { kind: 'assign'; query: string; userId: string; reason: string | null }
  | { kind: 'release'; query: string }
  | { kind: 'log'; query: string; interaction: InteractionKind; text: string; rest?: string }
  | { kind: 'history'; query: string }
  | { kind: 'invalid'; problem: string; usage: string };

export type FeedbackCommand =
  | { kind: 'feedback'; query: string; text: string; rest?: string }
  | { kind: 'help' }
  | { kind: 'invalid'; problem: string; usage: string };

export const MAX_QUERY = 200;
export const MAX_TEXT = 3_000;

export const USAGE = {
  lookup: '/customer <name, domain or id>',
  mine: '/customer mine',
  claim: '/customer claim <customer> [-- reason]',
  assign: '/customer assign <customer> @user [reason]',
  release: '/customer release <customer>',
  log: `/customer log <customer> <${INTERACTION_KINDS.join('|')}> <what happened>`,
  history: '/customer history <customer>',
  help: '/customer help',
  feedback: '/feedback <customer>: <text> [#complaint|#praise|#suggestion|#question]',
} as const;

const SUBCOMMANDS = new Set(['help', 'mine', 'claim', 'assign', 'release', 'log', 'history']);
const MENTION = /<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/;

function normalizeSpace(s: string): string {
  // Slack may send non-breaking spaces and smart quotes from mobile keyboards.
  return s
    .replace(/[\u00a0\u3000]/g, ' ')
    .replace(/[“”„]/g, '"')
    .replace(/[‘’]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/** Split a leading quoted phrase: `"Acme Corp" rest` → ['Acme Corp', 'rest']. */
function leadingQuoted(s: string): [string, string] | null {
  const m = /^(["'])(.+?)\1(?:\s+|$)(.*)$/.exec(s);
  return m ? [m[2]!.trim(), (m[3] ?? '').trim()] : null;
}

/** `query -- reason`, `query — reason`, or `query because reason`. */
function splitReason(s: string): [string, string | null] {
  const quoted = leadingQuoted(s);
  if (quoted) return [quoted[0], quoted[1] ? quoted[1].replace(/^(--|—|because)\s*/i, '') || null : null];
  const m = /^(.*?)\s+(?:--|—|because)\s+(.*)$/i.exec(s);
  if (m) return [m[1]!.trim(), m[2]!.trim() || null];
  return [s.replace(/\s+(--|—)$/, '').trim(), null];
}

function checkQuery(query: string, usage: string): { kind: 'invalid'; problem: string; usage: string } | null {
  if (!query) return { kind: 'invalid', problem: 'Which customer? The customer is missing.', usage };
  if (query.length > MAX_QUERY) return { kind: 'invalid', problem: `That customer name is too long (over ${MAX_QUERY} characters).`, usage };
  return null;
}

export function parseCustomerCommand(raw: unknown): CustomerCommand {
  const text = normalizeSpace(typeof raw === 'string' ? raw : '');
  if (text === '' || /^(help|\?|-h|--help)$/i.test(text)) return { kind: 'help' };

  // A quoted text is always a lookup, so a customer called "Claim Co" stays findable.
  const quoted = leadingQuoted(text);
  if (quoted && quoted[1] === '') return checkQuery(quoted[0], USAGE.lookup) ?? { kind: 'lookup', query: quoted[0] };

  const [first = '', ...restWords] = text.split(' ');
  const verb = first.toLowerCase();
  const rest = restWords.join(' ');
  if (!SUBCOMMANDS.has(verb)) {
    return checkQuery(text, USAGE.lookup) ?? { kind: 'lookup', query: text };
  }

  switch (verb) {
    case 'help':
      return { kind: 'help' };
    case 'mine': {
      if (rest === '') return { kind: 'mine', page: 1 };
      const page = /^(?:page\s*)?(\d{1,4})$/i.exec(rest);
      if (page) return { kind: 'mine', page: Math.max(1, Number(page[1])) };
      // "mine" followed by other words: most likely a customer whose name starts with "mine".
      return { kind: 'lookup', query: text.slice(0, MAX_QUERY) };
    }
    case 'claim': {
      const [query, reason] = splitReason(rest);
      // No quotes and no "--": where the name ends is found against the book (see `rest`).
      const guessed = reason === null && !leadingQuoted(rest);
      return checkQuery(query, USAGE.claim) ?? { kind: 'claim', query, reason: reason ? reason.slice(0, MAX_TEXT) : null, ...(guessed ? { rest } : {}) };
    }
    case 'assign': {
      const m = MENTION.exec(rest);
      if (!m) {
        const looksLikeName = /(^|\s)@\S+/.test(rest);
        return {
          kind: 'invalid',
          problem: looksLikeName
            ? 'I could not read that @mention. Pick the person from Slack’s autocomplete so it becomes a real mention.'
            : 'Who should own it? Mention the new owner with @.',
          usage: USAGE.assign,
        };
      }
      const query = rest
        .slice(0, m.index)
        .trim()
        .replace(/^["']|["']$/g, '');
      const reason = rest
        .slice(m.index + m[0].length)
        .replace(/^\s*(--|—|because)?\s*/i, '')
        .trim();
      return checkQuery(query, USAGE.assign) ?? { kind: 'assign', query, userId: m[1]!, reason: reason ? reason.slice(0, MAX_TEXT) : null };
    }
    case 'release':
    case 'history': {
      const query = (leadingQuoted(rest)?.[0] ?? rest).trim();
      const usage = verb === 'release' ? USAGE.release : USAGE.history;
      return checkQuery(query, usage) ?? { kind: verb, query };
    }
    case 'log': {
      const quotedQuery = leadingQuoted(rest);
      let query: string;
      let after: string;
      if (quotedQuery) {
        [query, after] = quotedQuery;
      } else {
        // The customer is everything before the first interaction kind word.
        const words = rest.split(' ');
        const at = words.findIndex((w, i) => i > 0 && (INTERACTION_KINDS as readonly string[]).includes(w.toLowerCase()));
        if (at < 0) {
          return {
            kind: 'invalid',
            problem: `What kind of touch was it? Use one of: ${INTERACTION_KINDS.join(', ')}.`,
            usage: USAGE.log,
          };
        }
        query = words.slice(0, at).join(' ');
        after = words.slice(at).join(' ');
      }
      const invalidQuery = checkQuery(query, USAGE.log);
      if (invalidQuery) return invalidQuery;
      const [kindWord = '', ...noteWords] = after.split(' ');
      const interaction = kindWord.toLowerCase() as InteractionKind;
      if (!(INTERACTION_KINDS as readonly string[]).includes(interaction)) {
        return {
          kind: 'invalid',
          problem: `“${kindWord || '(nothing)'}” is not a kind of touch. Use one of: ${INTERACTION_KINDS.join(', ')}.`,
          usage: USAGE.log,
        };
      }
      const note = noteWords.join(' ').trim();
      if (!note) return { kind: 'invalid', problem: 'Add a few words about what happened.', usage: USAGE.log };
      if (note.length > MAX_TEXT) return { kind: 'invalid', problem: `That note is too long (over ${MAX_TEXT} characters).`, usage: USAGE.log };
      return { kind: 'log', query, interaction, text: note, ...(quotedQuery ? {} : { rest }) };
    }
    default:
      return { kind: 'help' };
  }
}

export function parseFeedbackCommand(raw: unknown): FeedbackCommand {
  const text = normalizeSpace(typeof raw === 'string' ? raw : '');
  if (text === '' || /^(help|\?|-h|--help)$/i.test(text)) return { kind: 'help' };
  let query: string;
  let body: string;
  let guessed = false;
  const quoted = leadingQuoted(text);
  const colon = /^([^:：]{1,200}?)\s*[:：]\s*(.*)$/.exec(text);
  const dash = /^(.*?)\s+(?:--|—)\s+(.*)$/.exec(text);
  if (quoted) [query, body] = quoted;
  else if (colon) [query, body] = [colon[1]!.trim(), colon[2]!.trim()];
  else if (dash) [query, body] = [dash[1]!.trim(), dash[2]!.trim()];
  else {
    const [first = '', ...rest] = text.split(' ');
    [query, body] = [first, rest.join(' ')];
    guessed = true;
  }
  if (!query) return { kind: 'invalid', problem: 'Which customer is this about?', usage: USAGE.feedback };
  if (query.length > MAX_QUERY) return { kind: 'invalid', problem: `That customer name is too long (over ${MAX_QUERY} characters).`, usage: USAGE.feedback };
  if (!body) return { kind: 'invalid', problem: 'The feedback text is missing.', usage: USAGE.feedback };
  if (body.length > MAX_TEXT) return { kind: 'invalid', problem: `That feedback is too long (over ${MAX_TEXT} characters).`, usage: USAGE.feedback };
  return { kind: 'feedback', query, text: body, ...(guessed ? { rest: text } : {}) };
}

/**
 * Where a customer's name may end in "<customer> <more text>" typed without
 * quotes or a separator: every leading run of words (longest first, at most
 * `maxWords`) with the text after it. The book decides which run is a name.
 */
export function leadingRuns(text: string, maxWords = 8): { prefix: string; remainder: string }[] {
  const words = normalizeSpace(text).split(' ').filter(Boolean);
  const out: { prefix: string; remainder: string }[] = [];
  for (let k = Math.min(words.length, maxWords); k >= 1; k--) {
    const prefix = words.slice(0, k).join(' ');
    if (prefix.length <= MAX_QUERY) out.push({ prefix, remainder: words.slice(k).join(' ') });
  }
  return out;
}

/**
 * The command as it would read had the person quoted the customer's name:
 * how a customer found at the start of the text is given back to the parser
 * (quotes already keep working). Null when the name itself holds a quote.
 */
export function withQuotedCustomer(command: 'claim' | 'log' | 'feedback', name: string, remainder: string): CustomerCommand | FeedbackCommand | null {
  if (/["“”]/.test(name)) return null;
  if (command === 'feedback') return parseFeedbackCommand(`"${name}" ${remainder}`);
  if (command === 'claim') return parseCustomerCommand(`claim "${name}"${remainder ? ` -- ${remainder}` : ''}`);
  return parseCustomerCommand(`log "${name}" ${remainder}`);
}

/**
 * The command rewritten to name one customer by its external id, quoted —
 * what a "which one?" button re-runs once the person has picked. Null for
 * commands that do not name a customer. Pure.
 */
export function commandNaming(command: CustomerCommand | FeedbackCommand, externalId: string): string | null {
  const q = `"${externalId.replace(/"/g, '')}"`;
  switch (command.kind) {
    case 'claim':
      return `claim ${q}${command.reason ? ` -- ${command.reason}` : ''}`;
    case 'assign':
      return `assign ${q} <@${command.userId}>${command.reason ? ` ${command.reason}` : ''}`;
    case 'release':
    case 'history':
      return `${command.kind} ${q}`;
    case 'log':
      return `log ${q} ${command.interaction} ${command.text}`;
    case 'feedback':
      return `${q} ${command.text}`;
    default:
      return null;
  }
}
