import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFeedback, classifyText, findTag, isFeedbackKind, lexiconCounts, sentimentFor } from '../../src/feedback/classify.rules.js';
import { FEEDBACK_KINDS } from '../../src/feedback/feedback.table.js';

describe('classifier: Chinese', () => {
  it.each([
    ['太慢了，经常崩溃', 'complaint'],
    ['系统老是报错，客户很生气', 'complaint'],
    ['导出功能不好用', 'complaint'],
    ['价格太贵了，我们考虑不续约', 'complaint'],
    ['非常好用，谢谢', 'praise'],
    ['客服响应很快，很满意', 'praise'],
    ['新版本很稳定，给力', 'praise'],
    ['能不能加一个导出功能', 'suggestion'],
    ['希望支持微信登录', 'suggestion'],
    ['这个功能不错，但是能不能加个导出？', 'suggestion'],
    ['怎么设置权限？', 'question'],
    ['这个报表在哪里看', 'question'],
    ['请问发票什么时候开', 'question'],
  ])('“%s” → %s', (text, kind) => {
    expect(classifyText(text).kind).toBe(kind);
  });
});

describe('classifier: English', () => {
  it.each([
    ['The app is so slow and crashes every day', 'complaint'],
    ['Not happy with the support response time', 'complaint'],
    ["The sync doesn't work since Monday", 'complaint'],
    ['Why does the export keep failing?', 'complaint'],
    ['Love the new dashboard, thanks!', 'praise'],
    ['Great onboarding, the team is very helpful', 'praise'],
    ['It would be great if you could add CSV export', 'suggestion'],
    ['Please add SSO support', 'suggestion'],
    ['Could you add a dark mode?', 'suggestion'],
    ['How do I reset my password?', 'question'],
    ['How do I fix this error?', 'question'],
    ['Where can I find the API docs', 'question'],
  ])('“%s” → %s', (text, kind) => {
    expect(classifyText(text).kind).toBe(kind);
  });
});

describe('sentiment', () => {
  it('is negative for complaints and positive for praise, within −1..1', () => {
    expect(classifyText('太慢了，经常崩溃').sentiment).toBeLessThan(-0.5);
    expect(classifyText('非常好用，谢谢').sentiment).toBeGreaterThan(0.5);
    expect(classifyText('How do I reset my password?').sentiment).toBe(0);
  });

  it('handles negation in both languages', () => {
    expect(lexiconCounts('not good at all').neg).toBeGreaterThan(0);
    expect(lexiconCounts('not good at all').pos).toBe(0);
    expect(lexiconCounts('不好用').neg).toBeGreaterThan(0);
    expect(lexiconCounts('不好用').pos).toBe(0);
    expect(lexiconCounts('不错').pos).toBeGreaterThan(0);
    expect(lexiconCounts('差不多可以').neg).toBe(0);
  });

  it('keeps the sign consistent with the kind', () => {
    expect(sentimentFor('complaint', 0.6)).toBeLessThan(0);
    expect(sentimentFor('praise', -0.6)).toBeGreaterThan(0);
    expect(sentimentFor('complaint', 0)).toBe(-0.5);
    expect(sentimentFor('question', 0)).toBe(0);
  });
});

describe('tags', () => {
  it.each([
    ['great product #complaint', 'complaint', 'great product'],
    ['#praise the new exports', 'praise', 'the new exports'],
    ['crashes all the time #Suggestion', 'suggestion', 'crashes all the time'],
    ['导出很慢 #建议', 'suggestion', '导出很慢'],
    ['太棒了＃投诉', null, null], // no space before a full-width tag glued to text: not a tag
    ['#表扬 服务很好', 'praise', '服务很好'],
    ['issue #123 again', null, null],
  ])('%j', (text, kind, rest) => {
    const t = findTag(text);
    if (kind === null) expect(t).toBeNull();
    else expect(t).toEqual({ kind, text: rest });
  });

  it('a tag wins over the text', () => {
    expect(classifyFeedback('this is wonderful #complaint')).toMatchObject({ kind: 'complaint', source: 'tag', text: 'this is wonderful' });
    expect(classifyFeedback('this is wonderful')).toMatchObject({ kind: 'praise', source: 'auto' });
  });

  it('a lone tag keeps the text', () => {
    expect(classifyFeedback('#praise')).toMatchObject({ kind: 'praise', text: '#praise' });
  });
});

describe('any text', () => {
  it('gets a kind and a sentiment in −1..1, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (text) => {
        const c = classifyFeedback(text);
        expect(isFeedbackKind(c.kind)).toBe(true);
        expect(FEEDBACK_KINDS).toContain(c.kind);
        expect(c.sentiment).toBeGreaterThanOrEqual(-1);
        expect(c.sentiment).toBeLessThanOrEqual(1);
        expect(Number.isFinite(c.sentiment)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
