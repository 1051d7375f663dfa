/**
 * Loaders for the CDNOW reference data in ../shared/data/cdnow (see its
 * README). Test- and bench-only: product code knows nothing about CDNOW.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Order } from '../../../src/scoring/purchases.js';

export const CDNOW_DIR = path.resolve(process.cwd(), '../shared/data/cdnow');
export const CALIBRATION_END = '1997-09-30';
export const HOLDOUT_END = '1998-06-30';

export interface CdnowSummaryRow {
  readonly id: number;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  /** Only in the "with transactions" file. */
  readonly mean: number;
}

function lines(file: string): string[] {
  return readFileSync(path.join(CDNOW_DIR, file), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
}

/** The transaction log, orders per sample customer id (1–2357). */
export function loadCdnowOrders(): Map<number, Order[]> {
  const byCustomer = new Map<number, Order[]>();
  for (const line of lines('CDNOW_sample.txt')) {
    const [, sampleId, ymd, , dollars] = line.trim().split(/\s+/);
    if (!sampleId || !ymd || dollars === undefined) throw new Error(`bad CDNOW line: ${line}`);
    const id = Number(sampleId);
    const date = `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
    const list = byCustomer.get(id) ?? [];
    list.push({ date, amount: Number(dollars) });
    byCustomer.set(id, list);
  }
  return byCustomer;
}

/** `cdnow_customers_summary.csv` (ID,frequency,recency,T). */
export function loadCdnowSummary(): CdnowSummaryRow[] {
  return lines('cdnow_customers_summary.csv')
    .slice(1)
    .map((l) => {
      const [id, x, tx, T] = l.split(',').map(Number);
      return { id: id!, x: x!, tx: tx!, T: T!, mean: 0 };
    });
}

/** `cdnow_customers_summary_with_transactions.csv` (ID,x,t_x,T,zbar). */
export function loadCdnowSummaryWithSpend(): CdnowSummaryRow[] {
  return lines('cdnow_customers_summary_with_transactions.csv')
    .slice(1)
    .map((l) => {
      const [id, x, tx, T, zbar] = l.split(',').map(Number);
      return { id: id!, x: x!, tx: tx!, T: T!, mean: zbar! };
    });
}
