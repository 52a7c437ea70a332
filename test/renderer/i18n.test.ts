import { describe, expect, it } from 'vitest';
import { pickLocale, TABLES, translate, type MessageKey } from '../../src/renderer/i18n/translate.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('translations', () => {
  it('every language uses the same placeholders as English', () => {
    for (const key of Object.keys(TABLES.en) as MessageKey[]) {
      expect(placeholders(TABLES['zh-CN'][key]), key).toEqual(placeholders(TABLES.en[key]));
    }
  });

  it('no translation is left empty or in English by accident', () => {
    const same = (Object.keys(TABLES.en) as MessageKey[]).filter((k) => TABLES['zh-CN'][k] === TABLES.en[k] && /[a-z]{4,}/.test(TABLES.en[k].replace(/\{\w+\}/g, '')));
    expect(same.filter((k) => k !== 'settings.version')).toEqual([]);
  });

  it('fills in parameters and leaves unknown ones visible', () => {
    expect(translate('en', 'connection.retryIn', { seconds: 7 })).toBe('Retrying in 7 s');
    expect(translate('zh-CN', 'connection.retryIn', { seconds: 7 })).toBe('7 秒后重试');
    expect(translate('en', 'connection.retryIn')).toBe('Retrying in {seconds} s');
  });

  it('picks the first language it has', () => {
    expect(pickLocale(['zh-TW', 'en'])).toBe('zh-CN');
    expect(pickLocale(['fr', 'en-US'])).toBe('en');
    expect(pickLocale(['fr'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });
});
