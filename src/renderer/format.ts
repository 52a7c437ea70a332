/**
 * Locale-aware display of sizes, rates, durations and times. Pure, so the UI and the unit
 * tests agree on every string; binary units (KiB = 1024 B) to match what file managers show.
 */

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

function scaled(bytes: number): { value: number; unit: (typeof UNITS)[number] } {
  let value = Math.max(0, bytes);
  let i = 0;
  while (value >= 1024 && i < UNITS.length - 1) {
    value /= 1024;
    i++;
  }
  return { value, unit: UNITS[i]! };
}

function digits(value: number, unit: string): number {
  if (unit === 'byte') return 0;
  return value < 10 ? 1 : 0;
}

export function formatBytes(bytes: number, locale: string): string {
  const { value, unit } = scaled(bytes);
  // CLDR's short name for a byte is the word ("512 byte"); the narrow one is "512B".
  const unitDisplay = unit === 'byte' ? 'narrow' : 'short';
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay, maximumFractionDigits: digits(value, unit) }).format(value);
}

export function formatRate(bytesPerSecond: number, locale: string): string {
  const { value, unit } = scaled(bytesPerSecond);
  return new Intl.NumberFormat(locale, { style: 'unit', unit: `${unit}-per-second`, unitDisplay: 'short', maximumFractionDigits: digits(value, unit) }).format(value);
}

function unitCount(value: number, unit: 'hour' | 'minute' | 'second', locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'narrow' }).format(value);
}

/** A remaining time, to the two largest units: "2h 5m", "45s". */
export function formatDuration(seconds: number, locale: string): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return m > 0 ? `${unitCount(h, 'hour', locale)} ${unitCount(m, 'minute', locale)}` : unitCount(h, 'hour', locale);
  if (m > 0) return sec > 0 && m < 10 ? `${unitCount(m, 'minute', locale)} ${unitCount(sec, 'second', locale)}` : unitCount(m, 'minute', locale);
  return unitCount(sec, 'second', locale);
}

/** A moment: the time alone when it is today, with the date otherwise. */
export function formatTime(ms: number, locale: string, now: number = Date.now()): string {
  const when = new Date(ms);
  const sameDay = new Date(now).toDateString() === when.toDateString();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, options).format(when);
}

/** Whole seconds from `now` until `at`, never negative: what a countdown shows. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** 0–100, for a progress bar; 0 when nothing is known yet. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.floor((done / total) * 100)));
}
