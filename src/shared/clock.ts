/**
 * Time is injected, timers too, so that expiry, retry, lease, schedule and timeout logic runs on virtual
 * time in tests (sygnal's timeless event loop): nothing in a test waits for the machine's real clock.
 */

/** A pending timer; `unref` lets the process exit while it waits (a no-op on virtual time). */
export interface TimerHandle {
  unref(): TimerHandle;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls `fn` every `ms`. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of either kind; a handle that already fired, or undefined, is ignored. */
  clearTimer(handle: TimerHandle | undefined): void;
}

/** Resolves `ms` from now on this clock (virtual time in tests). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  setInterval: (fn, ms) => setInterval(fn, Math.max(1, ms)),
  clearTimer: (handle) => {
    if (handle) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface VirtualTimer extends TimerHandle {
  due: number;
  seq: number;
  fn: () => void;
  everyMs?: number;
  cancelled: boolean;
}

/**
 * A clock the test moves by hand. Timers fire only inside `advance`/`set`/`runAll`, in order of their due
 * time (then of creation), each with `now()` equal to its due time. `advanceAsync` also lets promise
 * callbacks run between timers, for code that awaits between steps.
 */
export class ManualClock implements Clock {
  private timers: VirtualTimer[] = [];
  private seq = 0;

  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    return this.add(fn, every, every);
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = handle as VirtualTimer;
    t.cancelled = true;
    this.timers = this.timers.filter((x) => x !== t);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.runUntil(this.ms + ms);
  }

  set(ms: number): void {
    if (ms >= this.ms) this.runUntil(ms);
    else this.ms = ms;
  }

  /**
   * Like `advance`, but yields to the event loop before and after each timer so that promise chains
   * started by one timer (an awaited store write, a retry) settle before the next fires.
   */
  async advanceAsync(ms: number): Promise<void> {
    const until = this.ms + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(until);
      if (!next) break;
      this.fire(next);
      await settle();
    }
    this.ms = until;
    await settle();
  }

  private add(fn: () => void, delay: number, everyMs?: number): VirtualTimer {
    const timer: VirtualTimer = {
      due: this.ms + delay,
      seq: this.seq++,
      fn,
      cancelled: false,
      unref: () => timer,
      ...(everyMs === undefined ? {} : { everyMs }),
    };
    this.timers.push(timer);
    return timer;
  }

  private nextDue(until: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (t.due <= until && (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq))) best = t;
    }
    return best;
  }

  private fire(t: VirtualTimer): void {
    this.ms = Math.max(this.ms, t.due);
    if (t.everyMs === undefined) this.timers = this.timers.filter((x) => x !== t);
    else {
      t.due += t.everyMs;
      t.seq = this.seq++;
    }
    t.fn();
  }

  private runUntil(until: number): void {
    for (;;) {
      const next = this.nextDue(until);
      if (!next) break;
      this.fire(next);
    }
    this.ms = until;
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
