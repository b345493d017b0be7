/**
 * fp-ts 2.16's `Semigroup` (see `./either.d.ts` for why these declarations exist).
 *
 * @module
 */

/** An associative `concat`. */
export interface Semigroup<A> {
  /** Combines two values. */
  readonly concat: (x: A, y: A) => A;
}
