import { expect } from "chai";
import { formatDate, formatTime, langFromAcceptLanguage, parseLang, translator } from "../../agent/src/i18n/index.js";

describe("i18n: languages, catalogues and times for people", () => {
  it("parses locales and Accept-Language (by q value) to zh-CN or en; anything else is not ours", () => {
    expect(parseLang("zh_CN.UTF-8")).to.equal("zh-CN");
    expect(parseLang("en_US.UTF-8")).to.equal("en");
    expect(parseLang("C.UTF-8")).to.equal(undefined);
    expect(parseLang("english")).to.equal(undefined);
    expect(langFromAcceptLanguage("fr-FR, en;q=0.5, zh-TW;q=0.9")).to.equal("zh-CN");
    expect(langFromAcceptLanguage("de, en-GB;q=0.8")).to.equal("en");
    expect(langFromAcceptLanguage("*")).to.equal(undefined);
    expect(langFromAcceptLanguage("en;q=0")).to.equal(undefined);
  });
  it("times in one format in the reader's zone: Asia/Shanghai unless told otherwise", () => {
    expect(formatTime("2026-11-21T23:30:00Z")).to.equal("2026-11-22 07:30");
    expect(formatTime(Date.parse("2026-11-21T23:30:00Z"), "UTC")).to.equal("2026-11-21 23:30");
    expect(formatDate("2026-11-21T23:30:00Z")).to.equal("2026-11-22");
    expect(formatTime("not a time")).to.equal("—");
  });
  it("translates with plural rules, in both languages", () => {
    const en = translator("en");
    expect(en("cli.shownTo", { count: 1 })).to.equal("1 merchant");
    expect(en("cli.shownTo", { count: 3 })).to.equal("3 merchants");
    expect(translator("zh-CN")("claims.real_name_verified")).to.equal("已实名认证");
    expect(en("claims.real_name_verified")).to.equal("Real-name verified");
  });
});

describe("i18n: the two catalogues say the same things", () => {
  it("every key of one is in the other (a missing Chinese sentence would show an English one to a Chinese reader)", async () => {
    const { en } = await import("../../agent/src/i18n/catalogues/en.js");
    const { zhCN } = await import("../../agent/src/i18n/catalogues/zh-CN.js");
    const keys = (o: object, prefix = ""): string[] => Object.entries(o).flatMap(([k, v]) => (v && typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(keys(zhCN).sort()).to.deep.equal(keys(en).sort());
    // No page text left untranslated: no Chinese value is the English one, except names and codes.
    const same = keys(en).filter((k) => {
      const get = (o: object) => k.split(".").reduce((x: any, p) => x?.[p], o);
      const v = get(en);
      return typeof v === "string" && /[a-z]{4,}/i.test(v) && v === get(zhCN);
    });
    expect(same).to.deep.equal([]);
  });
});
