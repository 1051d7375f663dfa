/**
 * Has this key been seen before? A set of 64-bit fingerprints (two 32-bit
 * FNV-1a hashes) in typed arrays: a million external ids cost 16 MB and no
 * retained strings. A repeated fingerprint is reported as "maybe seen" — the
 * caller confirms it exactly (false positives are vanishingly rare at 64 bits).
 */
export class FingerprintSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private size = 0;

  constructor(capacity = 1 << 16) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }

  /** Adds `key`; returns true when its fingerprint was already present. */
  add(key: string): boolean {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    h1 >>>= 0;
    h2 >>>= 0;
    if (h1 === 0 && h2 === 0) h1 = 1; // (0, 0) marks an empty slot
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    return this.insert(h1, h2);
  }

  private insert(h1: number, h2: number): boolean {
    const mask = this.hi.length - 1;
    for (let at = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask; ; at = (at + 1) & mask) {
      if (this.hi[at] === 0 && this.lo[at] === 0) {
        this.hi[at] = h1;
        this.lo[at] = h2;
        this.size++;
        return false;
      }
      if (this.hi[at] === h1 && this.lo[at] === h2) return true;
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    this.size = 0;
    for (let k = 0; k < hi.length; k++) if (hi[k] !== 0 || lo[k] !== 0) this.insert(hi[k]!, lo[k]!);
  }
}
