/**
 * The part of fp-ts 2.16's `lib/Either.d.ts` that snapfold calls, with the higher-kinded types
 * written out for the one instance used (validation over a semigroup).
 *
 * Why this file exists: fp-ts's declaration files import and augment `./HKT`, a directory whose
 * typings sit in a `package.json` (`lib/HKT/package.json` -> `../../HKT.d.ts`). Deno's global npm
 * cache resolves declaration files with ECMAScript-module rules, which refuse directory imports
 * (gcanti/fp-ts#1966, denoland/deno#27952), so every HKT-typed function (`getApplicativeValidation`,
 * `sequenceS`) types as `any` and `deno doc` prints "Failed resolving types ... fp-ts/lib/HKT".
 * These declarations give the exact types of the functions used instead; the JavaScript is fp-ts's.
 * Remove them when fp-ts ships an `exports` map (or the project switches to a `node_modules` dir).
 *
 * @module
 */
import type { Semigroup } from "./semigroup.d.ts";

/** A failure (fp-ts's `Left`). */
export interface Left<E> {
  /** The tag every `Either` function looks at. */
  readonly _tag: "Left";
  /** The failure. */
  readonly left: E;
}

/** A success (fp-ts's `Right`). */
export interface Right<A> {
  /** The tag every `Either` function looks at. */
  readonly _tag: "Right";
  /** The value. */
  readonly right: A;
}

/** fp-ts's `Either<E, A>`. */
export type Either<E, A> = Left<E> | Right<A>;

/** fp-ts's `Applicative2C<"Either", E>`, the instance `getApplicativeValidation` returns. */
export interface ApplicativeValidation<E> {
  /** The instance's type tag. */
  readonly URI: "Either";
  /** The fixed left type (phantom). */
  readonly _E: E;
  /** Maps the right side. */
  readonly map: <A, B>(fa: Either<E, A>, f: (a: A) => B) => Either<E, B>;
  /** Applies, concatenating both lefts with the semigroup when both fail. */
  readonly ap: <A, B>(fab: Either<E, (a: A) => B>, fa: Either<E, A>) => Either<E, B>;
  /** Wraps a value. */
  readonly of: <A>(a: A) => Either<E, A>;
}

/** Builds a failure. */
export declare const left: <E = never, A = never>(e: E) => Either<E, A>;
/** Builds a success. */
export declare const right: <E = never, A = never>(a: A) => Either<E, A>;
/** Whether `ma` is a failure. */
export declare const isLeft: <E>(ma: Either<E, unknown>) => ma is Left<E>;
/** Whether `ma` is a success. */
export declare const isRight: <A>(ma: Either<unknown, A>) => ma is Right<A>;
/** The applicative that accumulates every left through `S` (instead of stopping at the first). */
export declare const getApplicativeValidation: <E>(S: Semigroup<E>) => ApplicativeValidation<E>;
