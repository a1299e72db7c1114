/**
 * Up or down from a run of check results: `fall` consecutive failures take an up server down,
 * `rise` consecutive passes bring a down server back, so one lost packet or one slow answer
 * does not move traffic (flapping is absorbed).
 *
 * The first check is different, so that neither start nor reload costs anything: with
 * `startAs: up` the server takes traffic at once and the first check, if it fails, takes it
 * down at once (no `fall` checks of traffic into a dead server); with `startAs: down` it takes
 * none until the first check passes, which brings it up at once (no `rise` intervals of
 * refusing a healthy server). Every later change takes the full `fall` or `rise`.
 */
import type { StartAs } from '../config/health-check.ts';

export interface Thresholds {
  rise: number;
  fall: number;
  startAs: StartAs;
}

export class HealthStateMachine {
  readonly #rise: number;
  readonly #fall: number;
  #up: boolean;
  #checked = false;
  #passes = 0;
  #failures = 0;

  constructor({ rise, fall, startAs }: Thresholds) {
    this.#rise = rise;
    this.#fall = fall;
    this.#up = startAs === 'up';
  }

  get up(): boolean {
    return this.#up;
  }

  /** Consecutive passes (while down, toward rise) or failures (while up, toward fall) so far. */
  get streak(): { passes: number; failures: number } {
    return { passes: this.#passes, failures: this.#failures };
  }

  /** Record one result; true when it changed the state. */
  record(ok: boolean): boolean {
    const first = !this.#checked;
    this.#checked = true;
    if (ok) {
      this.#passes++;
      this.#failures = 0;
    } else {
      this.#failures++;
      this.#passes = 0;
    }
    const flip = this.#up ? !ok && (first || this.#failures >= this.#fall) : ok && (first || this.#passes >= this.#rise);
    if (!flip) return false;
    this.#up = !this.#up;
    this.#passes = 0;
    this.#failures = 0;
    return true;
  }

  /** Words for the status view while a change is pending, e.g. "failure 1 of 3 before down"; '' otherwise. */
  progress(): string {
    if (this.#up && this.#failures > 0) return `failure ${this.#failures} of ${this.#fall} before down`;
    if (!this.#up && this.#passes > 0) return `pass ${this.#passes} of ${this.#rise} before up`;
    return '';
  }
}
