// Exponential backoff with jitter, for anything that retries against the database
// through an outage (the LISTEN session, the worker's claims, start-up connects).

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly baseMs: number,
    private readonly capMs: number,
  ) {}

  /** The next delay: base·2^n capped, with ±25 % jitter so replicas do not retry in step. */
  next(): number {
    const raw = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(raw * (0.75 + Math.random() / 2));
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
