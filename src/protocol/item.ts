/**
 * The item a retrieval reply carries: its value, client flags and CAS unique. One class for the text
 * (`VALUE`) and the meta (`VA`) reply paths.
 *
 * A class, not an object literal, on purpose: V8 tracks an allocation site for every object and array
 * literal, and when a scavenge happens to find most of a site's recent objects alive (a chunk of 100
 * replies has completed 100 requests whose fibers have not run yet) it *pretenures* the site for the
 * rest of the process: every later item is then allocated in old space, and each drags the young
 * objects it references (the value's `Buffer`) into old space at the next scavenge. Measured on the
 * get@100 loop: ~14 000 extra page faults per 200 000 gets and twice the client CPU per get, from the
 * first unlucky scavenge on. `new` of a class carries no allocation site, so no per-request object of
 * the reply path is ever pretenured.
 *
 * @since 0.2.0
 */

/**
 * One retrieved item. Own enumerable properties only (spreading or serializing it gives the three
 * fields).
 *
 * @since 0.2.0
 * @category models
 */
export class ReplyItem {
  constructor(
    readonly value: Uint8Array,
    readonly flags: number,
    readonly cas: bigint | undefined
  ) {}
}
