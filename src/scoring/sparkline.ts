/**
 * Unicode sparklines (▁▂▃▄▅▆▇█) for compact score trends in Slack.
 */

export const SPARK_BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

export interface SparklineOptions {
  /**
   * 'auto' (default): lowest value ▁, highest █.
   * 'health': fixed 0–100, each bar covers 12.5 points.
   * { min, max }: a fixed range; values outside it are clamped.
   */
  readonly scale?: 'auto' | 'health' | { readonly min: number; readonly max: number };
  /**
   * Fix one or both ends of the range, e.g. { min: 0, max: 100 } for health
   * scores (same as scale 'health'); an end left out comes from the data.
   * Ignored when `scale` is given.
   */
  readonly min?: number;
  readonly max?: number;
  /** Keep only the most recent points (the end of the series). */
  readonly maxWidth?: number;
}

/**
 * One character per point. Missing or non-finite points are a space. A flat
 * series on the auto scale draws at mid height (▄), since it has no range;
 * values outside a fixed range are clamped to ▁ or █.
 */
export function sparkline(values: readonly (number | null | undefined)[], options: SparklineOptions = {}): string {
  const width = options.maxWidth === undefined ? values.length : Math.max(0, Math.floor(options.maxWidth));
  const kept = width >= values.length ? values : values.slice(values.length - width);
  if (kept.length === 0 || width === 0) return '';
  const scale = options.scale ?? 'auto';
  const fixedMin = options.scale === undefined && Number.isFinite(options.min) ? options.min : undefined;
  const fixedMax = options.scale === undefined && Number.isFinite(options.max) ? options.max : undefined;
  let min: number;
  let max: number;
  if (scale === 'health') {
    min = 0;
    max = 100;
  } else if (scale === 'auto') {
    min = Number.POSITIVE_INFINITY;
    max = Number.NEGATIVE_INFINITY;
    for (const v of kept) {
      if (typeof v === 'number' && Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (fixedMin !== undefined) min = fixedMin;
    if (fixedMax !== undefined) max = fixedMax;
  } else {
    min = scale.min;
    max = scale.max;
  }
  const flat = !(max > min);
  let out = '';
  for (const v of kept) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      out += ' ';
    } else if (flat) {
      out += SPARK_BARS[3];
    } else {
      const level = Math.min(7, Math.max(0, Math.floor(((v - min) / (max - min)) * 8)));
      out += SPARK_BARS[level]!;
    }
  }
  return out;
}
