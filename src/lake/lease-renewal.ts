/**
 * Background renewal of a lease, so that a stage running longer than the
 * lease's time to live (a first full load) is not taken over by the next
 * runner. Renewal stops by itself once the lease is found lost: the stage
 * then learns it from `Lease.isHeld()` before publishing, and publishes nothing.
 */

export interface RenewalOptions {
  /** Time between renewals; default a third of the time to live, so two renewals can fail before the lease expires. */
  readonly intervalMs?: number
  /** A renewal failed (network, throttling); renewal goes on and tries again at the next interval. */
  readonly onError?: (error: unknown) => void
  /** The lease was found taken over; renewal has stopped. */
  readonly onLost?: () => void
}

export class LeaseRenewal {
  readonly #ttlMs: number
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #running = false

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs
  }

  start(renew: () => Promise<boolean>, options: RenewalOptions = {}): void {
    if (this.#running) return
    this.#running = true
    const interval = Math.max(10, options.intervalMs ?? Math.floor(this.#ttlMs / 3))
    const tick = (): void => {
      this.#inFlight = renew().then(
        (held) => {
          if (!held) {
            this.#running = false
            options.onLost?.()
          }
        },
        (error: unknown) => options.onError?.(error),
      ).finally(() => {
        this.#inFlight = undefined
        if (this.#running) this.#schedule(tick, interval)
      })
    }
    this.#schedule(tick, interval)
  }

  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#inFlight
  }

  #schedule(tick: () => void, interval: number): void {
    // unref: a pending renewal never keeps a finished process alive.
    this.#timer = setTimeout(tick, interval)
    this.#timer.unref()
  }
}
