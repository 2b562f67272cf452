// mulberry32: a small, fast, seedable PRNG, so every randomized suite (crash,
// load) replays exactly from its printed seed.
export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(a: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (a) => a[Math.floor(next() * a.length)]!, chance: (p) => next() < p };
}
