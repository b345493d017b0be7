/**
 * The MT19937 engine of lib/random.ts: the state recurrence and the two seeding procedures of the
 * 2002 reference code (Matsumoto and Nishimura), as NumPy's `RandomState` runs them.
 *
 * @module
 */

/** Words in the MT19937 state. */
export const N = 624;
/** The middle word offset of the recurrence. */
export const M = 397;
/** The twist matrix's last row. */
export const MATRIX_A = 0x9908b0df;
/** The high bit of a word. */
export const UPPER_MASK = 0x80000000;
/** The low 31 bits of a word. */
export const LOWER_MASK = 0x7fffffff;

/** MT19937 `init_genrand`: fills the key from one 32-bit seed (Knuth's multiplier 1812433253). */
export function seedKey(key: Uint32Array, seed: number): void {
  key[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const prev = key[i - 1];
    key[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
  }
}

/** MT19937 `init_by_array` (the 2002 reference code), which NumPy uses for array seeds. */
export function seedKeyByArray(key: Uint32Array, initKey: ReadonlyArray<number>): void {
  seedKey(key, 19650218);
  const length = initKey.length;
  let i = 1;
  let j = 0;
  for (let k = Math.max(N, length); k > 0; k--) {
    const prev = key[i - 1];
    key[i] = ((key[i] ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + initKey[j] + j) >>> 0;
    i++;
    j++;
    if (i >= N) {
      key[0] = key[N - 1];
      i = 1;
    }
    if (j >= length) j = 0;
  }
  for (let k = N - 1; k > 0; k--) {
    const prev = key[i - 1];
    key[i] = ((key[i] ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
    i++;
    if (i >= N) {
      key[0] = key[N - 1];
      i = 1;
    }
  }
  // The most significant bit is set so that the state is never all zeros.
  key[0] = 0x80000000;
}

/** Refills the whole block of 624 words (the MT19937 recurrence). */
export function twist(key: Uint32Array): void {
  let i = 0;
  for (; i < N - M; i++) {
    const y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
    key[i] = key[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
  }
  for (; i < N - 1; i++) {
    const y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
    key[i] = key[i + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
  }
  const y = (key[N - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
  key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
}
