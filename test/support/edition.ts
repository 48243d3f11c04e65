/**
 * What the shared test files (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same
 * name and exports (packages/effect4/test/support/edition.ts).
 */
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"

/** A pure outcome of this edition (`Either` in Effect 3) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Either.Either<A, E>): Effect.Effect<A, E> => outcome
