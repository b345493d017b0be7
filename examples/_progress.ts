/**
 * The examples' progress line on stderr: what is training, epoch, snapshots, lr, loss, elapsed time
 * and the time left. It draws only when stderr is a terminal, at most ten times a second, and
 * nothing when the output is JSON or piped.
 *
 * @module
 */

/** One update of the line. */
export interface ProgressUpdate {
  /** Epochs done so far (1-based count). */
  readonly epoch: number;
  /** Snapshots taken so far, including one taken at this epoch's end. */
  readonly snapshots: number;
  /** The lr of the epoch's last step. */
  readonly lr: number;
  /** Mean training loss of the epoch. */
  readonly loss: number;
}

/** Formats a duration as `12.3s`, `4m05s` or `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Formats an lr with three significant digits, so that small rates at cycle ends stay visible. */
export function formatLr(lr: number): string {
  if (lr === 0) return "0";
  return Math.abs(lr) >= 1e-3 ? lr.toPrecision(3) : lr.toExponential(2);
}

/** The text of one progress line (without the carriage return). */
export function progressText(
  label: string,
  totalEpochs: number,
  update: ProgressUpdate,
  elapsedMs: number,
): string {
  const left = update.epoch > 0 ? (elapsedMs / update.epoch) * (totalEpochs - update.epoch) : NaN;
  return `${label} epoch ${update.epoch}/${totalEpochs}  snapshots ${update.snapshots}  ` +
    `lr ${formatLr(update.lr)}  loss ${update.loss.toFixed(4)}  ` +
    `${formatDuration(elapsedMs)} elapsed, ${formatDuration(left)} left`;
}

/** A progress line for one training run; `done()` ends it with a newline. */
export interface Progress {
  update(update: ProgressUpdate): void;
  done(): void;
}

/**
 * A progress line on stderr for a run of `totalEpochs`, or a silent one when `enabled` is false
 * or stderr is not a terminal.
 */
export function progress(label: string, totalEpochs: number, enabled = true): Progress {
  if (!enabled || !Deno.stderr.isTerminal()) return { update() {}, done() {} };
  const encoder = new TextEncoder();
  const started = performance.now();
  let drawn = -Infinity;
  let width = 0;
  const draw = (text: string) => {
    const padded = text.padEnd(width);
    width = text.length;
    Deno.stderr.writeSync(encoder.encode(`\r${padded}`));
  };
  let last: ProgressUpdate | undefined;
  return {
    update(update) {
      last = update;
      const now = performance.now();
      if (now - drawn < 100 && update.epoch < totalEpochs) return;
      drawn = now;
      draw(progressText(label, totalEpochs, update, now - started));
    },
    done() {
      if (last === undefined) return;
      draw(progressText(label, totalEpochs, last, performance.now() - started));
      Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
