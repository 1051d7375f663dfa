import { describe, expect, it } from 'vitest';
import { decideLookup, likePattern, type Candidate } from '../../src/customers/lookup.rules.js';

const c = (name: string, score: number): Candidate => ({ id: name, name, domain: null, externalId: name, score });

describe('decideLookup', () => {
  it('opens an exact match even when others are close', () => {
    expect(decideLookup([c('Acme', 1), c('Acme Logistics', 0.9)])).toMatchObject({ kind: 'card', customer: { name: 'Acme' } });
  });
  it('opens a clear leader', () => {
    expect(decideLookup([c('Globex', 0.7), c('Globe Media', 0.3)])).toMatchObject({ kind: 'card', customer: { name: 'Globex' } });
  });
  it('asks to choose between close candidates, at most 5', () => {
    const d = decideLookup([0.9, 0.9, 0.85, 0.8, 0.8, 0.8, 0.7].map((s, i) => c(`Acme ${i}`, s)));
    expect(d.kind).toBe('choose');
    if (d.kind === 'choose') expect(d.matches).toHaveLength(5);
  });
  it('opens a lone plausible candidate', () => {
    expect(decideLookup([c('Initech', 0.35), c('Intel', 0.2)])).toMatchObject({ kind: 'card', customer: { name: 'Initech' } });
  });
  it('says none and offers the nearest names when nothing is plausible', () => {
    const d = decideLookup([c('A', 0.1), c('B', 0.2)]);
    expect(d).toEqual({ kind: 'none', nearest: [c('B', 0.2), c('A', 0.1)] });
  });
  it('escapes LIKE wildcards', () => {
    expect(likePattern('50%_off\\')).toBe('50\\%\\_off\\\\');
  });
});
