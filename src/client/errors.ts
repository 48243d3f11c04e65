/**
 * The Effect 3 edition's errors of the engine's plain `EngineError` data: each kind to its
 * `MemcachedError` class, with the same reason and fields. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import type {
  ConnectionReason,
  EngineError,
  InputReason,
  ProtocolReason,
  ServerReason,
  StoreReason
} from "../engine/types.js"
import {
  type MemcachedError,
  MemcachedConnectionError,
  MemcachedInputError,
  MemcachedProtocolError,
  MemcachedServerError,
  MemcachedStoreError
} from "../MemcachedError.js"

/**
 * The typed error of an engine failure (each kind to its class, same reason). Never throws.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toMemcachedError = (e: EngineError): MemcachedError => {
  switch (e.kind) {
    case "Connection":
      return new MemcachedConnectionError(
        e.cause === undefined
          ? { reason: e.reason as ConnectionReason, server: e.server, message: e.message }
          : { reason: e.reason as ConnectionReason, server: e.server, message: e.message, cause: e.cause }
      )
    case "Protocol":
      return new MemcachedProtocolError({ reason: e.reason as ProtocolReason, message: e.message, server: e.server })
    case "Store":
      return new MemcachedStoreError({ reason: e.reason as StoreReason, key: e.key!, command: e.command! })
    case "Server":
      return new MemcachedServerError({ reason: e.reason as ServerReason, message: e.message, server: e.server })
    case "Input":
      return new MemcachedInputError(
        e.key === undefined
          ? { reason: e.reason as InputReason, message: e.message }
          : { reason: e.reason as InputReason, message: e.message, key: e.key }
      )
  }
}
