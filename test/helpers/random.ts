/** Seeded randomness for the stress tests: a failing run can be replayed with its seed. Not a test file. */
/** A small seeded PRNG (mulberry32), so a failing run can be repeated with its seed. */
export class Rng {
  private state: number
  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }
  /** [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  bool(p = 0.5): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255)
    return out
  }
  ipv4(): string {
    return `${this.int(1, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`
  }
  /** Distinct, sorted cut points strictly inside [0, length]. */
  cuts(length: number, count: number): number[] {
    const set = new Set<number>()
    for (let i = 0; i < count && length > 1; i++) set.add(this.int(1, length - 1))
    return [...set].sort((a, b) => a - b)
  }
}

/** The seed of this run: PROXYPROTO_SEED when set, otherwise random (printed by the tests that use it). */
export function seedFromEnv(): number {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by hand to replay a failing run, never by turbo
  const env = process.env.PROXYPROTO_SEED
  return env ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32)
}

/** Splits `data` at `cuts`. */
export function splitAt(data: Buffer, cuts: readonly number[]): Buffer[] {
  const parts: Buffer[] = []
  let start = 0
  for (const cut of cuts) {
    parts.push(data.subarray(start, cut))
    start = cut
  }
  parts.push(data.subarray(start))
  return parts
}
