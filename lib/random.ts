/**
 * Seeded randomness that reproduces NumPy's legacy `np.random.RandomState` bit for bit.
 *
 * snapfold never calls `Math.random`: every random number comes from a {@linkcode RandomState}
 * built from an explicit seed. The generator is the 32-bit Mersenne Twister MT19937 (Matsumoto and
 * Nishimura, 1998), seeded exactly as NumPy's `RandomState(seed)` seeds it (`init_genrand` for an
 * integer, `init_by_array` for an array), and the derived draws follow NumPy's legacy
 * distributions (`random_sample`, `legacy_gauss`, `random_interval`, `shuffle`), so that the
 * datasets built on it match scikit-learn's for the same `random_state`.
 *
 * References: M. Matsumoto and T. Nishimura, "Mersenne Twister: a 623-dimensionally
 * equidistributed uniform pseudo-random number generator", ACM TOMACS 8(1), 1998; NumPy's
 * `numpy/random/src/mt19937/mt19937.c`, `numpy/random/src/legacy/legacy-distributions.c` and
 * `numpy/random/src/distributions/distributions.c`.
 *
 * @module
 */
import {
  all,
  andThen,
  type Check,
  check,
  field,
  invalid,
  orThrow,
  struct,
  valid,
  type Validation,
} from "./validation.ts";

import { N, seedKey, seedKeyByArray, twist } from "./_mt19937.ts";

/** A JSON-serializable copy of a generator's whole state (NumPy's `get_state()` in camelCase). */
export interface RandomStateSnapshot {
  /** The 624 words of the MT19937 state, each an integer in `[0, 2^32 - 1]`. */
  readonly key: ReadonlyArray<number>;
  /** How many words of the current block were used, in `[0, 624]`. */
  readonly pos: number;
  /** Whether a second Gaussian value is cached by the polar method. */
  readonly hasGauss: boolean;
  /** The cached Gaussian value (0 when there is none). */
  readonly gauss: number;
}

/** Anything indexable with a length whose entries can be swapped in place (arrays, typed arrays). */
export interface Shufflable {
  /** Number of entries. */
  readonly length: number;
  /** Entry `i`. */
  [i: number]: unknown;
}

/** A seeded generator with NumPy's legacy `RandomState` semantics. */
export interface RandomState {
  /** The next tempered MT19937 word (`genrand_int32`), an integer in `[0, 2^32 - 1]`. */
  nextUint32(): number;
  /** NumPy's `random_sample`: a 53-bit double in `[0, 1)` built from two words. */
  randomSample(): number;
  /** NumPy's `legacy_gauss`: a standard normal draw (polar Box-Muller, second value cached). */
  gauss(): number;
  /** `loc + scale * gauss()`, as NumPy's legacy `normal`. */
  normal(loc: number, scale: number): number;
  /** `low + (high - low) * randomSample()`, as NumPy's `uniform`. */
  uniform(low: number, high: number): number;
  /**
   * NumPy's `random_interval`: a uniform integer in `[0, max]` by masked rejection, for an integer
   * `max` in `[0, 2^32 - 1]` (NumPy's 64-bit branch for larger `max` is not needed by any array
   * JavaScript can hold, and is rejected).
   */
  randomInterval(max: number): number;
  /** Shuffles in place in NumPy's legacy order (Fisher-Yates from the end). */
  shuffle(array: Shufflable): void;
  /** A shuffled `0..n-1`, as NumPy's `permutation(n)`. */
  permutation(n: number): Int32Array;
  /** A JSON-serializable copy of the state, for checkpoints; see {@linkcode restoreRandomState}. */
  snapshot(): RandomStateSnapshot;
}

const MAX_UINT32 = 0xffffffff;

/**
 * Creates a generator seeded as NumPy's `np.random.RandomState(seed)`.
 *
 * An integer seed goes through MT19937's `init_genrand` (NumPy's `mt19937_seed`); an array of
 * integers through `init_by_array`, as NumPy's legacy seeding does for a sequence.
 *
 * @example Reproducing `np.random.RandomState(0).random_sample()`
 * ```ts
 * import { randomState } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const rng = randomState(0);
 * assert.equal(rng.randomSample(), 0.5488135039273248);
 * assert.equal(rng.randomSample(), 0.7151893663724195);
 * ```
 *
 * @param seed An integer in `[0, 2^32 - 1]`, or a non-empty array of such integers.
 * @returns A fresh generator.
 * @throws {ConfigError} When the seed is not such an integer or array.
 */
export function randomState(seed: number | ReadonlyArray<number>): RandomState {
  const valid = orThrow("Cannot seed RandomState", validateSeed("seed", seed));
  const key = new Uint32Array(N);
  if (typeof valid === "number") seedKey(key, valid);
  else seedKeyByArray(key, valid);
  return new MersenneTwister(key, N, false, 0);
}

/**
 * Rebuilds a generator from {@linkcode RandomState.snapshot}; it continues exactly where the
 * snapshot was taken.
 *
 * @example Resuming a sequence from a checkpoint
 * ```ts
 * import { randomState, restoreRandomState } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const rng = randomState(42);
 * rng.gauss();
 * const saved = JSON.parse(JSON.stringify(rng.snapshot()));
 * const expected = [rng.gauss(), rng.randomSample()];
 * const resumed = restoreRandomState(saved);
 * assert.deepEqual([resumed.gauss(), resumed.randomSample()], expected);
 * ```
 *
 * @param snapshot A snapshot taken by `snapshot()` (possibly through JSON).
 * @returns A generator in that state.
 * @throws {ConfigError} When the snapshot is malformed.
 */
export function restoreRandomState(snapshot: RandomStateSnapshot): RandomState {
  const valid = orThrow("Cannot restore RandomState", validateSnapshot(snapshot));
  return new MersenneTwister(
    Uint32Array.from(valid.key),
    valid.pos,
    valid.hasGauss,
    valid.hasGauss ? valid.gauss : 0,
  );
}

/**
 * Checks a seed as NumPy's legacy seeding does: an integer in `[0, 2^32 - 1]` or a non-empty array
 * of them.
 *
 * @example
 * ```ts
 * import { validateSeed } from "./random.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validateSeed("seed", 7)._tag, "Right");
 * assert.equal(validateSeed("seed", -1)._tag, "Left");
 * assert.equal(validateSeed("seed", [])._tag, "Left");
 * ```
 *
 * @param field The name to report issues under.
 * @param seed The value to check (anything).
 * @returns The seed, or every issue found.
 */
export function validateSeed(
  field: string,
  seed: unknown,
): Validation<number | ReadonlyArray<number>> {
  if (!Array.isArray(seed)) return uint32(field, seed);
  if (seed.length === 0 || seed.length > MAX_SEED_WORDS) {
    return invalid(field, `must be a non-empty array of at most ${MAX_SEED_WORDS} seeds`, seed);
  }
  // Array.from visits the holes of a sparse array, which map would skip.
  return all(Array.from(seed, (word, i) => uint32(`${field}[${i}]`, word)));
}

/** Longest array seed (NumPy takes any length; a longer key adds nothing to 624 state words). */
const MAX_SEED_WORDS = 65536;

const UINT32 = "must be an integer between 0 and 2^32 - 1";

const uint32Check: Check = (f, value) =>
  check.that(
    typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_UINT32,
    f,
    UINT32,
    value,
  );

function uint32(name: string, value: unknown): Validation<number> {
  return field<number>(name, value, uint32Check);
}

function validateSnapshot(snapshot: unknown): Validation<RandomStateSnapshot> {
  if (typeof snapshot !== "object" || snapshot === null) {
    return invalid("snapshot", "must be an object", snapshot);
  }
  const s = snapshot as Record<string, unknown>;
  return struct({
    key: andThen(
      field<ReadonlyArray<unknown>>(
        "key",
        s.key,
        (f, v) =>
          check.that(Array.isArray(v) && v.length === N, f, `must be an array of ${N} integers`, v),
      ),
      (key) => {
        // The first bad word only: 624 issues would bury the message.
        const bad = key.findIndex((word) => uint32Check("", word).length > 0);
        return bad < 0 ? valid(key as number[]) : invalid(`key[${bad}]`, UINT32, key[bad]);
      },
    ),
    pos: field<number>("pos", s.pos, (f, v) => check.intInRange(f, v, 0, N)),
    hasGauss: field<boolean>("hasGauss", s.hasGauss, check.boolean),
    gauss: field<number>("gauss", s.gauss, check.finite),
  });
}

class MersenneTwister implements RandomState {
  #key: Uint32Array;
  #pos: number;
  #hasGauss: boolean;
  #gauss: number;

  constructor(key: Uint32Array, pos: number, hasGauss: boolean, gauss: number) {
    this.#key = key;
    this.#pos = pos;
    this.#hasGauss = hasGauss;
    this.#gauss = gauss;
  }

  nextUint32(): number {
    if (this.#pos >= N) {
      twist(this.#key);
      this.#pos = 0;
    }
    let y = this.#key[this.#pos++];
    // Tempering.
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  randomSample(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  gauss(): number {
    if (this.#hasGauss) {
      const cached = this.#gauss;
      this.#hasGauss = false;
      this.#gauss = 0;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    // Polar Box-Muller (Marsaglia); NumPy returns the second value first and caches the first.
    const f = Math.sqrt(-2 * Math.log(r2) / r2);
    this.#gauss = f * x1;
    this.#hasGauss = true;
    return f * x2;
  }

  normal(loc: number, scale: number): number {
    if (!(Number.isFinite(loc) && Number.isFinite(scale) && scale >= 0)) {
      orThrow(
        "Cannot draw a normal value",
        struct({
          loc: field("loc", loc, check.finite),
          scale: field("scale", scale, check.nonNegative),
        }),
      );
    }
    return loc + scale * this.gauss();
  }

  uniform(low: number, high: number): number {
    if (!(Number.isFinite(low) && Number.isFinite(high) && Number.isFinite(high - low))) {
      orThrow(
        "Cannot draw a uniform value",
        andThen(
          struct({
            low: field<number>("low", low, check.finite),
            high: field<number>("high", high, check.finite),
          }),
          (b) =>
            field(
              "high",
              b.high,
              (f, v) =>
                check.that(Number.isFinite(b.high - b.low), f, "minus low must be finite", v),
            ),
        ),
      );
    }
    return low + (high - low) * this.randomSample();
  }

  randomInterval(max: number): number {
    if (!(Number.isInteger(max) && max >= 0 && max <= MAX_UINT32)) {
      orThrow("Cannot draw an integer", uint32("max", max));
    }
    return this.#interval(max);
  }

  /** NumPy's `random_interval` for `max` in `[0, 2^32 - 1]`, where it draws 32-bit words. */
  #interval(max: number): number {
    if (max === 0) return 0;
    const mask = smallestMask(max);
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0; while (value > max);
    return value;
  }

  shuffle(array: Shufflable): void {
    orThrow("Cannot shuffle", shufflable(array));
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.#interval(i);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
  }

  permutation(n: number): Int32Array {
    orThrow(
      "Cannot build permutation",
      field("n", n, (f, v) => check.intInRange(f, v, 0, MAX_PERMUTATION)),
    );
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }

  snapshot(): RandomStateSnapshot {
    return {
      key: Array.from(this.#key),
      pos: this.#pos,
      hasGauss: this.#hasGauss,
      gauss: this.#gauss,
    };
  }
}

/** Longest permutation (512 MiB of `Int32Array`), as the datasets' largest size. */
const MAX_PERMUTATION = 2 ** 27;

/** An array or a typed array, whose length is its real size (never a bare `{ length }`). */
function shufflable(array: unknown): Validation<Shufflable> {
  return field<Shufflable>("array", array, (f, v) =>
    check.that(
      (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) &&
        (v as ArrayLike<unknown>).length - 1 <= MAX_UINT32,
      f,
      "must be an array or a typed array of at most 2^32 entries",
      v,
    ));
}

/** The smallest `2^k - 1` that is at least `max` (for `max` below 2^32). */
function smallestMask(max: number): number {
  let mask = max >>> 0;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  return mask >>> 0;
}
