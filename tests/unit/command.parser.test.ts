import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCustomerCommand, parseFeedbackCommand } from '../../src/commands/command.parser.js';
import { handleCustomerCommand } from '../../src/commands/customer.router.js';

describe('parseCustomerCommand', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['acme', { kind: 'lookup', query: 'acme' }],
    ['  Acme   Corp ', { kind: 'lookup', query: 'Acme Corp' }],
    ['"claim co"', { kind: 'lookup', query: 'claim co' }],
    ['mine', { kind: 'mine', page: 1 }],
    ['mine 3', { kind: 'mine', page: 3 }],
    ['mine craft', { kind: 'lookup', query: 'mine craft' }],
    // No quotes, no "--": where the name ends is a guess the book settles (`rest` is kept for that).
    ['claim acme', { kind: 'claim', query: 'acme', reason: null, rest: 'acme' }],
    ['claim acme corp -- I ran their QBR', { kind: 'claim', query: 'acme corp', reason: 'I ran their QBR' }],
    ['claim "Acme Corp" worked with them', { kind: 'claim', query: 'Acme Corp', reason: 'worked with them' }],
    ['assign acme <@U123ABC|bob> covering', { kind: 'assign', query: 'acme', userId: 'U123ABC', reason: 'covering' }],
    ['release acme', { kind: 'release', query: 'acme' }],
    ['history 阿里巴巴', { kind: 'history', query: '阿里巴巴' }],
    [
      'log acme corp call discussed renewal',
      { kind: 'log', query: 'acme corp', interaction: 'call', text: 'discussed renewal', rest: 'acme corp call discussed renewal' },
    ],
    ['log "Call Center Inc" meeting kickoff', { kind: 'log', query: 'Call Center Inc', interaction: 'meeting', text: 'kickoff' }],
  ])('%j', (input, expected) => {
    expect(parseCustomerCommand(input)).toEqual(expected);
  });

  it.each([
    ['claim', 'customer is missing', '/customer claim'],
    ['assign acme', 'Mention the new owner', '/customer assign'],
    ['assign acme @bob', 'could not read that @mention', '/customer assign'],
    ['log acme', 'What kind of touch', '/customer log'],
    ['log acme call', 'Add a few words', '/customer log'],
    ['release', 'customer is missing', '/customer release'],
  ])('%j is invalid with the right form', (input, problem, usage) => {
    const c = parseCustomerCommand(input);
    expect(c.kind).toBe('invalid');
    if (c.kind === 'invalid') {
      expect(c.problem).toContain(problem);
      expect(c.usage).toContain(usage);
    }
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.constantFrom('claim', 'assign', 'log', 'mine', 'release').chain((v) => fc.string().map((s) => `${v} ${s}`)),
        ),
        (text) => {
          const c = parseCustomerCommand(text);
          expect(c.kind).toBeTypeOf('string');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers any text with a reply and never throws (handler without a database for help/invalid)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('help', 'claim', 'log x', 'assign x @y', ''), async (text) => {
        const reply = await handleCustomerCommand({ logger: (await import('../../src/platform/logger.js')).silentLogger } as never, {
          userId: 'U1',
          channelId: 'C1',
          text,
        });
        expect(reply.blocks.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('parseFeedbackCommand', () => {
  it.each([
    ['acme: exports are slow #complaint', { kind: 'feedback', query: 'acme', text: 'exports are slow #complaint' }],
    ['"Acme Corp" love the new UI', { kind: 'feedback', query: 'Acme Corp', text: 'love the new UI' }],
    ['阿里巴巴：系统太慢了', { kind: 'feedback', query: '阿里巴巴', text: '系统太慢了' }],
    ['acme corp -- wants SSO', { kind: 'feedback', query: 'acme corp', text: 'wants SSO' }],
    ['acme great call', { kind: 'feedback', query: 'acme', text: 'great call', rest: 'acme great call' }],
  ])('%j', (input, expected) => expect(parseFeedbackCommand(input)).toEqual(expected));

  it('says what is missing', () => {
    expect(parseFeedbackCommand('acme')).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('text is missing') });
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (t) => void parseFeedbackCommand(t)),
      { numRuns: 2000 },
    );
  });
});

describe('commandNaming', () => {
  it.each([
    'claim acme -- I ran their QBR',
    'claim acme',
    'assign acme corp <@U123ABC|bob> covering for Alice',
    'release acme',
    'history acme',
    'log acme corp call discussed renewal -- and pricing',
  ])('re-parses %j to the same command naming the picked customer', async (text) => {
    const { commandNaming } = await import('../../src/commands/command.parser.js');
    const original = parseCustomerCommand(text);
    const again = parseCustomerCommand(commandNaming(original, 'EXT 42')!);
    // Named by a quoted id, the customer's extent is no longer a guess: no `rest`.
    const { rest: _guess, ...named } = original as { rest?: string };
    expect(again).toEqual({ ...named, query: 'EXT 42' });
  });

  it('does the same for /feedback', async () => {
    const { commandNaming } = await import('../../src/commands/command.parser.js');
    const original = parseFeedbackCommand('acme: exports time out: every Monday #complaint');
    expect(parseFeedbackCommand(commandNaming(original, 'C9')!)).toEqual({ ...original, query: 'C9' });
  });

  it('keeps any claim reason intact', async () => {
    const { commandNaming } = await import('../../src/commands/command.parser.js');
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== '' && !/["'“”‘’]/.test(s)),
        (reason) => {
          const original = parseCustomerCommand(`claim acme -- ${reason}`);
          if (original.kind !== 'claim') return;
          const again = parseCustomerCommand(commandNaming(original, 'C1')!);
          expect(again).toMatchObject({ kind: 'claim', query: 'C1', reason: original.reason });
        },
      ),
    );
  });
});

describe('leading runs and the quoted rewrite', () => {
  it('offers every leading run of words, longest first, with the text after it', async () => {
    const { leadingRuns } = await import('../../src/commands/command.parser.js');
    expect(leadingRuns('falcon hospitality group #praise loves it', 3)).toEqual([
      { prefix: 'falcon hospitality group', remainder: '#praise loves it' },
      { prefix: 'falcon hospitality', remainder: 'group #praise loves it' },
      { prefix: 'falcon', remainder: 'hospitality group #praise loves it' },
    ]);
  });

  it('gives a found customer back to the parser as if it had been quoted', async () => {
    const { withQuotedCustomer } = await import('../../src/commands/command.parser.js');
    expect(withQuotedCustomer('feedback', 'Falcon Hospitality Group', '#praise the team loves it')).toEqual({
      kind: 'feedback',
      query: 'Falcon Hospitality Group',
      text: '#praise the team loves it',
    });
    expect(withQuotedCustomer('claim', 'Acme Logistics', 'they asked for me')).toEqual({ kind: 'claim', query: 'Acme Logistics', reason: 'they asked for me' });
    expect(withQuotedCustomer('claim', 'Acme Logistics', '')).toEqual({ kind: 'claim', query: 'Acme Logistics', reason: null });
    expect(withQuotedCustomer('log', 'Call Center', 'call met them')).toEqual({ kind: 'log', query: 'Call Center', interaction: 'call', text: 'met them' });
    expect(withQuotedCustomer('log', 'Call Center', 'lunch')).toMatchObject({ kind: 'invalid' });
    expect(withQuotedCustomer('feedback', 'The "Best" Co', 'x')).toBeNull();
  });

  it('never throws on any text', async () => {
    const { leadingRuns, withQuotedCustomer } = await import('../../src/commands/command.parser.js');
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        for (const r of leadingRuns(a)) expect(r.prefix.length).toBeGreaterThan(0);
        for (const c of ['claim', 'log', 'feedback'] as const) withQuotedCustomer(c, a, b);
      }),
    );
  });
});
