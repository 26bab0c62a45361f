/**
 * Languages for people: Chinese (zh-CN) by default, English on request. Messages live in catalogues
 * (./catalogues), read through i18next (a well-kept library: plural rules, interpolation, fallback to the
 * default language for a missing key) rather than hand-written lookups. Times are shown in one format, in the
 * reader's zone (Asia/Shanghai unless told otherwise).
 */
import i18next, { type TFunction } from "i18next";
import { en } from "./catalogues/en.js";
import { zhCN } from "./catalogues/zh-CN.js";

export type Lang = "zh-CN" | "en";
export const DEFAULT_LANG: Lang = "zh-CN";
export const DEFAULT_TIME_ZONE = "Asia/Shanghai";

/** A language tag or locale (zh, zh_CN.UTF-8, en-US, en_GB…) to one of ours; anything else is undefined. */
export function parseLang(value: string | undefined | null): Lang | undefined {
  const v = (value ?? "").trim().toLowerCase();
  if (/^zh([-_]|$)/.test(v)) return "zh-CN";
  if (/^en([-_]|$)/.test(v)) return "en";
  return undefined;
}

/** The first of our languages an Accept-Language header prefers (by its q values), if any. */
export function langFromAcceptLanguage(header: string | undefined): Lang | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(",")
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(";");
      const q = Number(params.find((p) => p.trim().startsWith("q="))?.trim().slice(2) ?? "1");
      return { lang: parseLang(tag), q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.lang && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.lang;
}

const instance = i18next.createInstance();
// Resources are in memory: initAsync false makes init synchronous, so a command needs no await to speak.
void instance.init({
  initAsync: false,
  lng: DEFAULT_LANG,
  fallbackLng: DEFAULT_LANG,
  supportedLngs: ["zh-CN", "en"],
  resources: { "zh-CN": { translation: zhCN }, en: { translation: en } },
  interpolation: { escapeValue: false }, // HTML pages escape with their own html`` template
  returnNull: false,
});

export type Translate = TFunction;

/** A translate function bound to one language (each page request or command gets its own). */
export function translator(lang: Lang): Translate {
  return instance.getFixedT(lang);
}

/** Whether a catalogue has this key (so callers can fall back to a message of their own). */
export function hasMessage(lang: Lang, key: string): boolean {
  return instance.exists(key, { lng: lang, fallbackLng: false });
}

/** One format for every time shown to people: "2026-11-22 14:05" in the reader's zone (24-hour clock). */
export function formatTime(when: Date | string | number, timeZone = DEFAULT_TIME_ZONE): string {
  const date = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(date.getTime())) return "—";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Only the date, in the reader's zone ("2026-11-22"). */
export const formatDate = (when: Date | string | number, timeZone = DEFAULT_TIME_ZONE): string => formatTime(when, timeZone).slice(0, 10);
