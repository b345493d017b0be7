/**
 * fp-ts 2.16's `ReadonlyNonEmptyArray` and its semigroup (see `./either.d.ts` for why these
 * declarations exist).
 *
 * @module
 */
import type { Semigroup } from "./semigroup.d.ts";

/** A read-only array with at least one element. */
export type ReadonlyNonEmptyArray<A> = ReadonlyArray<A> & { readonly 0: A };

/** Concatenation: the semigroup validation accumulates issues with. */
export declare const getSemigroup: <A = never>() => Semigroup<ReadonlyNonEmptyArray<A>>;
/** A one-element array. */
export declare const of: <A>(a: A) => ReadonlyNonEmptyArray<A>;
