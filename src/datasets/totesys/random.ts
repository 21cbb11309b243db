/**
 * A small seeded pseudo-random source (mulberry32) for the ToteSys generator
 * and simulator. `Math.random` cannot be seeded; this gives the same sequence
 * for the same seed on every platform and Node version, which is what makes
 * generated data byte-identical between runs.
 */

/** Hashes any mix of numbers and strings to a 32-bit seed (FNV-1a, then a murmur3 finalizer). */
export function deriveSeed(...parts: readonly (number | string)[]): number {
  let hash = 0x811c9dc5
  for (const char of parts.join('\u0000')) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

export class SeededRandom {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with the given probability (0..1). */
  chance(probability: number): boolean {
    return this.next() < probability
  }

  /** One element, uniformly. The list must not be empty. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Cannot pick from an empty list.')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** One element, with probability proportional to its weight. */
  weightedPick<T>(choices: readonly (readonly [item: T, weight: number])[]): T {
    let total = 0
    for (const [, weight] of choices) total += weight
    let point = this.next() * total
    for (const [item, weight] of choices) {
      point -= weight
      if (point < 0) return item
    }
    const last = choices[choices.length - 1]
    if (last === undefined) throw new RangeError('Cannot pick from an empty list.')
    return last[0]
  }

  /** `value` rounded down or up at random so that the expected result is `value`. */
  roundStochastic(value: number): number {
    const whole = Math.floor(value)
    return whole + (this.chance(value - whole) ? 1 : 0)
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const swap = copy[i] as T
      copy[i] = copy[j] as T
      copy[j] = swap
    }
    return copy
  }
}

/** A random source for `seed` (any 32-bit integer; use `deriveSeed` to combine several inputs). */
export function createRandom(seed: number): SeededRandom {
  return new SeededRandom(seed)
}
