import type { AlertRule } from './alert.table.js';

/** `retain alerts stats`: each rule's measured precision, from the Useful / False alarm buttons. Pure. */
export interface AlertRuleCounts {
  rule: AlertRule;
  raised: number;
  acknowledged: number;
  useful: number;
  false_alarm: number;
}

export interface AlertRuleStats extends AlertRuleCounts {
  /** useful ÷ (useful + false alarm); null until someone has judged one. */
  precision: number | null;
}

export const ALL_RULES: readonly AlertRule[] = ['red_band', 'score_drop', 'p_alive', 'complaint_tier_a'];

export function alertStats(rows: readonly AlertRuleCounts[]): { rules: AlertRuleStats[]; total: Omit<AlertRuleStats, 'rule'> & { rule: 'all' } } {
  const byRule = new Map(rows.map((r) => [r.rule, r]));
  const rules = ALL_RULES.map((rule) => {
    const r = byRule.get(rule) ?? { rule, raised: 0, acknowledged: 0, useful: 0, false_alarm: 0 };
    return { ...r, precision: precision(r.useful, r.false_alarm) };
  });
  const sum = (k: 'raised' | 'acknowledged' | 'useful' | 'false_alarm') => rules.reduce((s, r) => s + r[k], 0);
  const total = {
    rule: 'all' as const,
    raised: sum('raised'),
    acknowledged: sum('acknowledged'),
    useful: sum('useful'),
    false_alarm: sum('false_alarm'),
    precision: precision(sum('useful'), sum('false_alarm')),
  };
  return { rules, total };
}

export function precision(useful: number, falseAlarm: number): number | null {
  return useful + falseAlarm === 0 ? null : useful / (useful + falseAlarm);
}

export function formatAlertStats(stats: ReturnType<typeof alertStats>): string {
  const head = ['rule', 'raised', 'acknowledged', 'useful', 'false alarm', 'precision'];
  const rows = [...stats.rules, stats.total].map((r) => [
    r.rule,
    String(r.raised),
    String(r.acknowledged),
    String(r.useful),
    String(r.false_alarm),
    r.precision === null ? '–' : `${(r.precision * 100).toFixed(0)}%`,
  ]);
  return table([head, ...rows]);
}

/** A plain text table, first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => Array.from(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
