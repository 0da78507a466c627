/**
 * Which pool checkouts go first when every connection is in use: a call made through `urgently()`
 * is served before the ordinary checkouts already waiting (src/db/checkout.ts reads the mark).
 * The queue's claim uses it, so that a worker with free capacity starts its next run without
 * waiting behind the writes of the runs in flight (issue 11, item 5).
 */

let urgentCalls = 0;

/**
 * Runs `call` with its pool checkouts marked urgent: a checkout that has to wait for a connection
 * is served before the waiting ordinary ones (in arrival order among urgent ones). The mark holds
 * for the checkouts `call` starts synchronously, before its first `await`, which is where a
 * repository function's single statement checks out its connection; later statements of the call
 * are ordinary. Inside a transaction it changes nothing (the connection is already held).
 *
 * @example
 * ```ts
 * const next = await urgently(() => claim.first(db, workerId, leaseSeconds));
 * ```
 */
export function urgently<T>(call: () => T): T {
  urgentCalls++;
  try {
    return call();
  } finally {
    urgentCalls--;
  }
}

/** True while a call made through `urgently()` is starting (read by the checkout, synchronously). */
export function checkoutIsUrgent(): boolean {
  return urgentCalls > 0;
}
