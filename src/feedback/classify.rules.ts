import { FEEDBACK_KINDS, type FeedbackKind } from './feedback.table.js';

/**
 * Pure feedback classification, English and Chinese: the kind from a
 * `#complaint #praise #suggestion #question` tag when there is one, else from
 * keyword lexicons; a sentiment in −1..1 either way. Deliberately simple and
 * explainable: a rep who disagrees adds a tag.
 */
export interface Classification {
  kind: FeedbackKind;
  /** −1 (angry) .. 1 (delighted), 3 decimals. */
  sentiment: number;
  /** 'tag' when the person said the kind; 'auto' when classified. */
  source: 'tag' | 'auto';
  /** The text with the tag removed (the whole text when that would leave nothing). */
  text: string;
}

const TAGS: Record<string, FeedbackKind> = {
  complaint: 'complaint',
  complain: 'complaint',
  bug: 'complaint',
  praise: 'praise',
  kudos: 'praise',
  suggestion: 'suggestion',
  suggest: 'suggestion',
  idea: 'suggestion',
  feature: 'suggestion',
  question: 'question',
  q: 'question',
  投诉: 'complaint',
  抱怨: 'complaint',
  表扬: 'praise',
  好评: 'praise',
  建议: 'suggestion',
  需求: 'suggestion',
  问题: 'question',
  提问: 'question',
  咨询: 'question',
};

const TAG_RE = /(^|[\s,.;:!?，。；：！？、(（])[#＃]([a-z]+|[\u4e00-\u9fff]{2})(?=$|[\s,.;:!?，。；：！？、)）])/giu;

/** The first known #tag in the text, and the text without it. */
export function findTag(text: string): { kind: FeedbackKind; text: string } | null {
  for (const m of text.matchAll(TAG_RE)) {
    const kind = TAGS[m[2]!.toLowerCase()];
    if (!kind) continue;
    const start = m.index! + m[1]!.length;
    const end = m.index! + m[0].length;
    const rest = `${text.slice(0, start)}${text.slice(end)}`.replace(/\s{2,}/g, ' ').trim();
    return { kind, text: rest || text.trim() };
  }
  return null;
}

// ── lexicons ──────────────────────────────────────────────────────────────
// Weights: 1 = clearly negative/positive; 0.5 = weak (often in neutral
// support questions). Chinese has no word breaks: entries are matched as
// substrings, longest first, and each match is blanked so it counts once.

const EN_NEG_PHRASES = [
  "doesn't work",
  'does not work',
  "don't work",
  'not working',
  'stopped working',
  'no longer works',
  "can't log in",
  'cannot log in',
  "can't login",
  'waste of money',
  'waste of time',
  'too expensive',
  'too slow',
  'fed up',
  'going to cancel',
  'want to cancel',
  'thinking of leaving',
  'switch to a competitor',
];
const EN_NEG_STRONG = [
  'slow',
  'slower',
  'sluggish',
  'laggy',
  'lag',
  'crash',
  'crashes',
  'crashed',
  'crashing',
  'broken',
  'breaks',
  'buggy',
  'fail',
  'fails',
  'failed',
  'failing',
  'failure',
  'outage',
  'downtime',
  'terrible',
  'awful',
  'horrible',
  'bad',
  'worse',
  'worst',
  'hate',
  'hates',
  'frustrated',
  'frustrating',
  'annoying',
  'annoyed',
  'disappointed',
  'disappointing',
  'unusable',
  'useless',
  'unacceptable',
  'refund',
  'overpriced',
  'expensive',
  'complain',
  'complaint',
  'unhappy',
  'angry',
  'upset',
  'furious',
  'freezes',
  'frozen',
  'stuck',
  'confusing',
  'poor',
  'lost',
  'cancel',
  'cancelling',
  'canceling',
  'unreliable',
  'ridiculous',
  'nightmare',
  'mess',
  'garbage',
  'rubbish',
  'sucks',
  'painful',
  'timeout',
  'timeouts',
];
const EN_NEG_WEAK = ['error', 'errors', 'issue', 'issues', 'problem', 'problems', 'bug', 'bugs', 'wrong', 'missing', 'difficult', 'hard'];
const EN_POS = [
  'great',
  'love',
  'loves',
  'loved',
  'loving',
  'excellent',
  'amazing',
  'awesome',
  'fantastic',
  'perfect',
  'happy',
  'thanks',
  'thank',
  'helpful',
  'easy',
  'fast',
  'faster',
  'smooth',
  'good',
  'nice',
  'impressed',
  'impressive',
  'wonderful',
  'brilliant',
  'delighted',
  'satisfied',
  'recommend',
  'best',
  'reliable',
  'intuitive',
  'appreciate',
  'appreciated',
  'kudos',
  'superb',
  'stellar',
  'solid',
  'pleased',
  'glad',
  'enjoy',
  'enjoying',
  'useful',
  'works well',
];
const EN_NEGATORS = "not|no|never|hardly|isn't|isnt|wasn't|wasnt|aren't|arent|don't|dont|doesn't|doesnt|didn't|didnt|won't|wont|cannot|can't|cant|nothing|less";

const ZH_NEG_NEGATED_POS = /(不|没有|没|不太|不是很|并不|一点都不|一点也不|不怎么)(好用|满意|方便|稳定|流畅|喜欢|好|快|清楚|专业|靠谱|顺畅|灵活)/gu;
const ZH_NEG_STRONG = [
  '太慢',
  '很慢',
  '好慢',
  '速度慢',
  '加载慢',
  '慢死',
  '卡顿',
  '很卡',
  '太卡',
  '好卡',
  '卡死',
  '崩溃',
  '闪退',
  '宕机',
  '挂了',
  '死机',
  '打不开',
  '用不了',
  '不能用',
  '难用',
  '太差',
  '很差',
  '真差',
  '极差',
  '垃圾',
  '失望',
  '不满',
  '生气',
  '愤怒',
  '投诉',
  '退款',
  '退费',
  '太贵',
  '很贵',
  '好贵',
  '麻烦',
  '糟糕',
  '离谱',
  '坑',
  '烂',
  '不续约',
  '不续费',
  '取消订阅',
  '退订',
  '换掉',
  '出问题',
  '老出错',
  '经常出错',
  '问题很多',
  '不稳定',
  '丢失',
  '丢数据',
  '失败',
  '无法',
  '慢',
  '差劲',
  '难受',
  '烦',
  '恶心',
  '吐槽',
  '受不了',
];
const ZH_NEG_WEAK = ['报错', '出错', '错误', '故障', 'bug', '异常', '不对', '缺少'];
const ZH_POS = [
  '非常好用',
  '很好用',
  '好用',
  '非常好',
  '很好',
  '太好了',
  '真好',
  '满意',
  '喜欢',
  '谢谢',
  '感谢',
  '多谢',
  '赞',
  '棒',
  '优秀',
  '方便',
  '很快',
  '速度快',
  '快多了',
  '不错',
  '完美',
  '给力',
  '好评',
  '推荐',
  '流畅',
  '贴心',
  '专业',
  '靠谱',
  '顺畅',
  '省心',
  '惊喜',
  '好',
];
const ZH_INTENSIFIERS = /(非常|特别|超级|超|太|极其|十分|真的|实在)/gu;
const EN_INTENSIFIERS = /\b(very|so|really|extremely|super|incredibly|totally|absolutely)\b/giu;

const SUGGESTION_EN =
  /\b(would be (?:nice|great|good|helpful|awesome|useful|cool)|it'd be (?:nice|great|good)|please (?:add|support|include|allow|make)|(?:could|can|would) you (?:please )?(?:add|make|support|include|allow|build|consider)|would love (?:to see|it if|a|an|the)|feature request|i suggest|we suggest|suggestion|(?:i|we) wish|wish (?:you|it|there)|should (?:add|have|support|allow|offer)|consider adding|it would help|add (?:a|an|support|the ability)|support for|ability to|option to|how about adding|why not add)\b/iu;
const SUGGESTION_ZH =
  /(建议|希望|能不能加|能否加|可不可以加|可以加|加一个|加个|增加|添加|新增|支持一下|最好能|如果能|要是能|期待|能不能(?:支持|提供|增加|做|出|有)|能否(?:支持|提供|增加)|想要一个|需要一个|要是有|如果有.*就好)/u;
const QUESTION_START_EN = /^(how|what|why|when|where|who|which|is|are|can|could|does|do|did|will|would|should|may|any(?:one|body)? know)\b/iu;
const QUESTION_ZH = /(怎么|怎样|如何|为什么|为何|是否|哪里|哪个|哪些|什么时候|多少|请问|吗[？?。]?$|呢[？?]?$|么[？?]$|能不能|可不可以|有没有)/u;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
/** One regex per English list, longest first, on word boundaries. */
function wordsRe(words: readonly string[]): RegExp {
  const alts = [...words]
    .sort((a, b) => b.length - a.length)
    .map(escapeRe)
    .join('|');
  return new RegExp(`(?<![\\p{L}\\p{N}'])(?:${alts})(?![\\p{L}\\p{N}'])`, 'giu');
}
function substringsRe(words: readonly string[]): RegExp {
  return new RegExp(
    [...words]
      .sort((a, b) => b.length - a.length)
      .map(escapeRe)
      .join('|'),
    'giu',
  );
}

const RE = {
  enNegPhrases: wordsRe(EN_NEG_PHRASES),
  enNegatedPos: new RegExp(
    `(?<![\\p{L}'])(?:${EN_NEGATORS})\\s+(?:(?:very|so|that|too|really|at all)\\s+)?(?:${[...EN_POS]
      .sort((a, b) => b.length - a.length)
      .map(escapeRe)
      .join('|')})(?![\\p{L}'])`,
    'giu',
  ),
  enNegatedNeg: new RegExp(
    `(?<![\\p{L}'])(?:not|never|no|isn't|isnt|wasn't|wasnt)\\s+(?:(?:too|that|so|very)\\s+)?(?:${[...EN_NEG_STRONG, ...EN_NEG_WEAK]
      .sort((a, b) => b.length - a.length)
      .map(escapeRe)
      .join('|')})(?![\\p{L}'])`,
    'giu',
  ),
  enNegStrong: wordsRe(EN_NEG_STRONG),
  enNegWeak: wordsRe(EN_NEG_WEAK),
  enPos: wordsRe(EN_POS),
  zhNegStrong: substringsRe(ZH_NEG_STRONG),
  zhNegWeak: substringsRe(ZH_NEG_WEAK),
  zhPos: substringsRe(ZH_POS),
};

interface Counts {
  pos: number;
  neg: number;
  /** Weight of the negative hits that were strong (≥ 1 each). */
  strongNeg: number;
}

/** Count and blank each match so a longer phrase is never counted again by its parts. */
function take(text: string, re: RegExp, onHit: (match: string) => void): string {
  return text.replace(re, (m) => {
    onHit(m);
    return ' '.repeat(m.length);
  });
}

export function lexiconCounts(raw: string): Counts {
  let t = raw.normalize('NFKC').toLowerCase().replace(/[’‘]/g, "'");
  // 差不多 ("about the same") and 不错 ("not bad" = good) are not negative.
  t = t.replace(/差不多/gu, '   ');
  const c: Counts = { pos: 0, neg: 0, strongNeg: 0 };
  const intensity = (raw.match(ZH_INTENSIFIERS)?.length ?? 0) + (raw.match(EN_INTENSIFIERS)?.length ?? 0) > 0 ? 1.5 : 1;
  const neg = (w: number) => {
    c.neg += w;
    if (w >= 1) c.strongNeg += w;
  };
  t = take(t, RE.enNegPhrases, () => neg(1));
  t = take(t, RE.enNegatedNeg, () => (c.pos += 0.25));
  t = take(t, RE.enNegatedPos, () => neg(1));
  t = take(t, /不错/gu, () => (c.pos += 1));
  t = take(t, ZH_NEG_NEGATED_POS, () => neg(1));
  t = take(t, RE.zhNegStrong, () => neg(1));
  t = take(t, RE.zhNegWeak, () => neg(0.5));
  t = take(t, RE.enNegStrong, () => neg(1));
  t = take(t, RE.enNegWeak, () => neg(0.5));
  t = take(t, RE.zhPos, () => (c.pos += 1));
  take(t, RE.enPos, () => (c.pos += 1));
  return { pos: c.pos * intensity, neg: c.neg * intensity, strongNeg: c.strongNeg * intensity };
}

export function isQuestion(text: string): boolean {
  const t = text.normalize('NFKC').trim();
  return /[?？]\s*$/u.test(t) || QUESTION_START_EN.test(t) || QUESTION_ZH.test(t);
}

export function isSuggestion(text: string): boolean {
  const t = text.normalize('NFKC');
  return SUGGESTION_EN.test(t) || SUGGESTION_ZH.test(t);
}

/** Lexicon balance as −1..1; 0 when nothing matched. */
export function sentimentFromCounts(c: Counts): number {
  if (c.pos === 0 && c.neg === 0) return 0;
  return clamp((c.pos - c.neg) / (c.pos + c.neg + 0.5));
}

function clamp(x: number): number {
  return Math.round(Math.max(-1, Math.min(1, x)) * 1000) / 1000;
}

/** Keep the sentiment consistent with the kind: a complaint is never positive, praise never negative. */
export function sentimentFor(kind: FeedbackKind, lexicon: number): number {
  switch (kind) {
    case 'complaint':
      return lexicon === 0 ? -0.5 : clamp(Math.min(lexicon, -0.1));
    case 'praise':
      return lexicon === 0 ? 0.5 : clamp(Math.max(lexicon, 0.1));
    default:
      return clamp(lexicon);
  }
}

/**
 * Kind from the text alone. Order: clear negativity → complaint (in a
 * question only when strongly negative: "how do I fix this error?" is a
 * question); a feature ask → suggestion (even when polite: "would be great
 * if…"); a question; positivity → praise; weaker negativity → complaint;
 * otherwise a suggestion (general feedback).
 */
export function classifyText(text: string): { kind: FeedbackKind; sentiment: number } {
  const c = lexiconCounts(text);
  const lexicon = sentimentFromCounts(c);
  const question = isQuestion(text);
  let kind: FeedbackKind;
  if (c.neg > c.pos && (c.strongNeg >= 1 || (!question && !isSuggestion(text)))) kind = 'complaint';
  else if (isSuggestion(text)) kind = 'suggestion';
  else if (question) kind = 'question';
  else if (c.pos > c.neg) kind = 'praise';
  else if (c.neg > 0) kind = 'complaint';
  else kind = 'suggestion';
  return { kind, sentiment: sentimentFor(kind, lexicon) };
}

/** A tag wins; otherwise the text is classified. */
export function classifyFeedback(text: string): Classification {
  const tagged = findTag(text);
  if (tagged) {
    const lexicon = sentimentFromCounts(lexiconCounts(tagged.text));
    return { kind: tagged.kind, sentiment: sentimentFor(tagged.kind, lexicon), source: 'tag', text: tagged.text };
  }
  const { kind, sentiment } = classifyText(text);
  return { kind, sentiment, source: 'auto', text: text.trim() };
}

export function isFeedbackKind(x: unknown): x is FeedbackKind {
  return typeof x === 'string' && (FEEDBACK_KINDS as readonly string[]).includes(x);
}
