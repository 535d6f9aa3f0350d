/**
 * Chattering detection. ISA-18.2 / IEC 62682 define a chattering alarm as one that repeatedly
 * transitions between the alarm state and the normal state in a short time; the usual figure (and
 * our default, docs/domain.md) is 3 or more activations within a minute.
 *
 * One report per episode: after reporting, the alarm is not reported again until it has been quiet
 * (no activation) for a whole window. Chattering is a maintenance signal (fix the deadband, the
 * delay or the sensor), so one report per episode is what a technician needs; it does not change
 * the alarm's state.
 */

export interface ChatterOptions {
  /** Activations that make an episode (default 3). */
  count: number;
  /** The window they must fall in, ms (default 60 000). */
  windowMs: number;
}

interface ChatterHistory {
  /** Activation times (monotonic ms) inside the current window. */
  times: number[];
  inEpisode: boolean;
}

export class ChatterDetector {
  private readonly histories = new Map<string, ChatterHistory>();

  constructor(private readonly options: ChatterOptions) {}

  /**
   * Notes one activation of `alarmKey` at `nowMs`. Returns the number of activations in the window
   * when this activation starts a chattering episode, otherwise null.
   */
  activation(alarmKey: string, nowMs: number): number | null {
    let history = this.histories.get(alarmKey);
    if (history === undefined) {
      history = { times: [], inEpisode: false };
      this.histories.set(alarmKey, history);
    }
    const last = history.times[history.times.length - 1];
    if (history.inEpisode && last !== undefined && nowMs - last >= this.options.windowMs) {
      history.inEpisode = false;
    }
    history.times = history.times.filter((t) => nowMs - t < this.options.windowMs);
    history.times.push(nowMs);
    if (!history.inEpisode && history.times.length >= this.options.count) {
      history.inEpisode = true;
      return history.times.length;
    }
    return null;
  }

  /** Forgets an alarm (its rule was removed). */
  forget(alarmKey: string): void {
    this.histories.delete(alarmKey);
  }
}
