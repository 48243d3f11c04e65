/**
 * The adaptive rate limiter's state machine (`effect/persistence/RateLimiter`'s `adaptiveConsume` /
 * `adaptiveFeedback`) as pure transitions over one state value, so the memcached store can apply them
 * with compare-and-swap. The transitions are those of Effect's own memory store (`layerStoreMemory`):
 * inactive → (429 with Retry-After) cooldown → learning → (429) learned, and back to cooldown on a
 * later 429. Effect-free apart from the types; never throws.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as RateLimiter from "effect/persistence/RateLimiter"

/** The state of one adaptive key (what the store keeps, as JSON). @internal */
export interface AdaptiveState {
  readonly phase: RateLimiter.AdaptivePhase
  readonly epoch: number
  readonly cooldownUntil: number
  readonly learningStartedAt: number
  readonly observedTokens: number
  readonly learnedLimit: number
  readonly learnedWindowMillis: number
  readonly expiresAt: number
}

const GRACE_MILLIS = 60_000
const MAX_WINDOW_MILLIS = 60 * 60 * 1_000

const clampMillis = (millis: number): number =>
  Number.isNaN(millis) || millis <= 0 ? 1 : Math.min(millis, MAX_WINDOW_MILLIS)

const phases: ReadonlyArray<string> = ["inactive", "cooldown", "learning", "learned"]

/** Parses stored state; anything that is not a state reads as no state. @internal */
export const parseState = (text: string): AdaptiveState | undefined => {
  try {
    const u = JSON.parse(text) as Record<string, unknown>
    const numbers = [
      "epoch",
      "cooldownUntil",
      "learningStartedAt",
      "observedTokens",
      "learnedLimit",
      "learnedWindowMillis",
      "expiresAt"
    ]
    if (typeof u !== "object" || u === null || !phases.includes(u.phase as string)) return undefined
    for (const n of numbers) if (typeof u[n] !== "number" || !Number.isFinite(u[n])) return undefined
    return u as unknown as AdaptiveState
  } catch {
    return undefined
  }
}

/** A state that expired (its TTL is second-granular on the server) counts as none. @internal */
export const live = (state: AdaptiveState | undefined, now: number): AdaptiveState | undefined =>
  state === undefined || state.expiresAt <= now ? undefined : state

const cooldown = (epoch: number, cooldownUntil: number): AdaptiveState => ({
  phase: "cooldown",
  epoch,
  cooldownUntil,
  learningStartedAt: 0,
  observedTokens: 0,
  learnedLimit: 0,
  learnedWindowMillis: 0,
  expiresAt: cooldownUntil + GRACE_MILLIS
})

/** One consume: the result, and the state to store (`undefined`: leave the stored state as it is). @internal */
export const consume = (
  current: AdaptiveState | undefined,
  now: number,
  options: RateLimiter.AdaptiveConsumeOptions
): readonly [RateLimiter.AdaptiveConsumeResult, AdaptiveState | undefined] => {
  const state = live(current, now)
  if (state === undefined) return [{ delay: Duration.zero, epoch: 0, phase: "inactive" }, undefined]
  switch (state.phase) {
    case "cooldown": {
      if (state.cooldownUntil > now) {
        return [{ delay: Duration.millis(state.cooldownUntil - now), epoch: state.epoch, phase: "cooldown" }, undefined]
      }
      const next: AdaptiveState = {
        ...state,
        phase: "learning",
        epoch: state.epoch + 1,
        learningStartedAt: now,
        observedTokens: options.tokens,
        expiresAt: now + Duration.toMillis(options.fallbackWindow) + GRACE_MILLIS
      }
      return [{ delay: Duration.zero, epoch: next.epoch, phase: "learning" }, next]
    }
    case "learning": {
      const next = { ...state, observedTokens: state.observedTokens + options.tokens }
      return [{ delay: Duration.zero, epoch: state.epoch, phase: "learning" }, next]
    }
    case "learned": {
      const refillMillis = state.learnedWindowMillis / state.learnedLimit
      const restart = state.cooldownUntil <= now
      const observedTokens = (restart ? 0 : state.observedTokens) + options.tokens
      const cooldownUntil = (restart ? now : state.cooldownUntil) + refillMillis * options.tokens
      const ttl = cooldownUntil - now
      const elapsed = observedTokens * refillMillis - ttl
      const windowNumber = Math.floor((observedTokens - 1) / state.learnedLimit)
      const remaining = windowNumber * state.learnedWindowMillis - elapsed
      return [
        { delay: remaining <= 0 ? Duration.zero : Duration.millis(remaining), epoch: state.epoch, phase: "learned" },
        { ...state, observedTokens, cooldownUntil }
      ]
    }
    default:
      return [{ delay: Duration.zero, epoch: state.epoch, phase: state.phase }, undefined]
  }
}

/** One feedback: the state to store (`undefined`: leave the stored state as it is). @internal */
export const feedback = (
  current: AdaptiveState | undefined,
  now: number,
  options: RateLimiter.AdaptiveFeedbackOptions
): AdaptiveState | undefined => {
  if (options.status !== 429 || options.retryAfter === undefined) return undefined
  const cooldownUntil = now + clampMillis(Duration.toMillis(options.retryAfter))
  const state = live(current, now)
  if (state === undefined) return options.epoch === 0 ? cooldown(0, cooldownUntil) : undefined
  if (state.epoch !== options.epoch) return undefined
  switch (state.phase) {
    case "cooldown": {
      const until = Math.max(state.cooldownUntil, cooldownUntil)
      return { ...state, cooldownUntil: until, expiresAt: until + GRACE_MILLIS }
    }
    case "learning": {
      const accepted = state.observedTokens - options.tokens
      if (accepted <= 0) return cooldown(state.epoch, cooldownUntil)
      const learnedWindowMillis = clampMillis(now - state.learningStartedAt + (cooldownUntil - now))
      return {
        phase: "learned",
        epoch: state.epoch + 1,
        cooldownUntil: state.learningStartedAt + learnedWindowMillis,
        learningStartedAt: state.learningStartedAt,
        observedTokens: accepted,
        learnedLimit: accepted,
        learnedWindowMillis,
        expiresAt: now + learnedWindowMillis + GRACE_MILLIS
      }
    }
    case "learned":
      return cooldown(state.epoch, cooldownUntil)
    default:
      return undefined
  }
}
