import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatRate, formatTime, percent, secondsUntil } from '../../src/renderer/format.js';

describe('formatBytes', () => {
  it('scales by 1024 and keeps one decimal under ten', () => {
    expect(formatBytes(0, 'en')).toBe('0B');
    expect(formatBytes(512, 'en')).toBe('512B');
    expect(formatBytes(1536, 'en')).toBe('1.5 kB');
    expect(formatBytes(25 * 1024 * 1024, 'en')).toBe('25 MB');
    expect(formatBytes(3 * 1024 ** 3, 'en')).toBe('3 GB');
  });

  it('never shows a negative size', () => {
    expect(formatBytes(-5, 'en')).toBe('0B');
  });

  it('follows the locale', () => {
    expect(formatBytes(1234567890, 'de')).toBe('1,1\u00a0GB');
  });
});

describe('formatRate', () => {
  it('is a size a second, in the locale', () => {
    expect(formatRate(2.5 * 1024 * 1024, 'en')).toBe('2.5 MB/s');
    expect(formatRate(2.5 * 1024 * 1024, 'zh-CN')).toBe('2.5 MB/秒');
  });
});

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect(formatDuration(0, 'en')).toBe('0s');
    expect(formatDuration(45.4, 'en')).toBe('45s');
    expect(formatDuration(125, 'en')).toBe('2m 5s');
    expect(formatDuration(3600 * 2 + 60 * 5 + 7, 'en')).toBe('2h 5m');
    expect(formatDuration(3600, 'en')).toBe('1h');
  });

  it('drops seconds once minutes are many', () => {
    expect(formatDuration(15 * 60 + 30, 'en')).toBe('15m');
  });

  it('speaks Chinese', () => {
    expect(formatDuration(125, 'zh-CN')).toBe('2分钟 5秒');
  });
});

describe('formatTime', () => {
  const now = new Date(2026, 10, 23, 18, 0, 0).getTime();

  it('shows only the time today', () => {
    const text = formatTime(new Date(2026, 10, 23, 9, 5, 7).getTime(), 'en-GB', now);
    expect(text).toBe('09:05');
  });

  it('adds the date on other days', () => {
    const text = formatTime(new Date(2026, 10, 20, 9, 5, 7).getTime(), 'en-GB', now);
    expect(text).toContain('20 Nov 2026');
    expect(text).toContain('09:05');
  });
});

describe('countdowns and progress', () => {
  it('counts whole seconds up, never below zero', () => {
    expect(secondsUntil(10_500, 10_000)).toBe(1);
    expect(secondsUntil(12_000, 10_000)).toBe(2);
    expect(secondsUntil(9_000, 10_000)).toBe(0);
  });

  it('is a bounded whole percentage', () => {
    expect(percent(0, 0)).toBe(0);
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 4)).toBe(100);
    expect(percent(-1, 4)).toBe(0);
  });
});
