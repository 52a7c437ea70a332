import { percent } from '../format.js';

/** A determinate progress bar that screen readers announce as one. */
export function ProgressBar({ done, total, label, valueText }: { done: number; total: number; label: string; valueText: string }) {
  const value = percent(done, total);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} aria-valuetext={valueText}>
      <div className="progress-fill" style={{ width: `${value}%` }} />
    </div>
  );
}
