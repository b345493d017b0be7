/**
 * fp-ts 2.16's `sequenceS` from `lib/Apply.d.ts`, typed for the Either instance (see
 * `./either.d.ts` for why these declarations exist).
 *
 * @module
 */
import type { ApplicativeValidation, Either } from "./either.d.ts";

/**
 * Combines a record of `Either`s into one `Either` of the record: with a validation instance,
 * every left is concatenated.
 */
export declare function sequenceS<E>(
  F: ApplicativeValidation<E>,
): <R extends Readonly<Record<string, Either<E, unknown>>>>(
  r: R,
) => Either<E, { -readonly [K in keyof R]: R[K] extends Either<E, infer A> ? A : never }>;
