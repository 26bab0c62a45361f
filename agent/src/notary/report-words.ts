import type { CheckStatus, EvidenceCheck, EvidenceSummary } from "./evidence.js";

/**
 * The words a court clerk reads in a notary report (Chinese first, English after): levels, claims, checks
 * and times said in full, never as internal codes.
 */

export const DEFAULT_REPORT_TIME_ZONE = "Asia/Shanghai";

const LEVELS: Record<string, string> = {
  verified: "仅实名认证结果（the merchant learns only that a real-name-verified person answered）",
  pseudonymous: "假名账户（a stable identifier for this person at this merchant only, plus the verification result）",
  full: "完整身份信息（the identity items named below, for the stated retention period）",
};
const CLAIMS: Record<string, string> = {
  real_name_verified: "已实名认证 (real-name verified)",
  age_over_18: "已满十八周岁 (over 18)",
  full_name: "姓名 (full name)",
  id_number: "公民身份号码 (ID number)",
  birth_date: "出生日期 (date of birth)",
  family_name: "姓 (family name)",
  given_name: "名 (given name)",
};
const CHECKS: Record<string, string> = {
  "bundle-format": "证据包的格式可被读取 (the evidence bundle is in a format this notary reads)",
  "trust-anchors": "公证处自己的信任锚已配置：可信的链、登记合约与身份签发方 (this notary's own trust anchors are set)",
  "consent-presentation": "本人在出示凭证时签署的授权条款成立 (the person's signed presentation carries the grant terms)",
  "consent-receipt-signature": "同意回执的签名有效且内容未被改动 (the consent receipt's signature is valid, the content unaltered)",
  "grant-receipt-signature": "商户授权回执的签名有效且内容未被改动 (the merchant's grant receipt's signature is valid)",
  "consent-signed-by-holder": "同意由出示凭证的同一把持有者密钥签署 (the consent is signed by the key that presented the credential)",
  "grant-countersigns-consent": "商户的授权回执会签了正是这份同意 (the merchant counter-signed exactly this consent)",
  "merchant-registered": "商户在可信签发方的商户名录中登记 (the merchant is in the trusted issuer's signed registry)",
  "times-consistent": "各时间先后一致 (the times are in a consistent order)",
  "presentation-matches-consent": "出示的凭证与同意回执一致 (the presentation matches the consent)",
  "presentation-issuer-trusted": "凭证由可信的身份签发方签发 (the credential was issued by a trusted issuer)",
  "status-snapshot": "授权当时凭证未被吊销 (the credential was not revoked when the grant was made)",
  "withdrawal-receipt": "撤回回执由同意人签署 (the withdrawal is signed by the person who consented)",
  "withdrawal-acknowledgement": "商户确认收到撤回并删除数据 (the merchant acknowledged the withdrawal)",
};
const SUBJECTS: Record<string, string> = {
  consent: "同意回执 (consent receipt)",
  grant: "授权回执 (grant receipt)",
  withdrawal: "撤回回执 (withdrawal receipt)",
  "withdrawal-acknowledgement": "撤回确认 (withdrawal acknowledgement)",
  "status-snapshot": "凭证状态快照 (status snapshot)",
  "registry-snapshot": "商户名录快照 (registry snapshot)",
};

export const levelInWords = (level: string): string => LEVELS[level] ?? level;
export const claimInWords = (claim: string): string => CLAIMS[claim] ?? claim.replace(/_/g, " ");

export function checkInWords(check: string): string {
  if (CHECKS[check]) return CHECKS[check]!;
  const suffix = /^(.*)-(leaf|merkle-path|on-chain)$/.exec(check);
  if (suffix) {
    const what = SUBJECTS[suffix[1]!] ?? suffix[1]!.replace(/-/g, " ");
    if (suffix[2] === "leaf") return `${what}的加盐哈希与其叶子一致 (its salted hash is the leaf)`;
    if (suffix[2] === "merkle-path") return `${what}的默克尔路径通向批次的根 (its Merkle path leads to the batch root)`;
    return `${what}的根已写入可信链上的登记合约 (its root is on the trusted registry contract on chain)`;
  }
  return check.replace(/-/g, " ");
}

export const statusInWords = (s: CheckStatus): string => (s === "pass" ? "通过 (passed)" : s === "fail" ? "未通过 (FAILED)" : "无法核验 (could not be checked)");

/** A moment in the reader's time zone, in words, with the zone named and UTC beside it. */
export function timeInWords(when: string | number | Date, timeZone = DEFAULT_REPORT_TIME_ZONE): string {
  const d = when instanceof Date ? when : new Date(typeof when === "number" ? when * 1000 : when);
  if (Number.isNaN(d.getTime())) return String(when);
  const local = new Intl.DateTimeFormat("zh-CN", { timeZone, year: "numeric", month: "long", day: "numeric", weekday: "long", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(d);
  return `${local}（${timeZone}；UTC ${d.toISOString().replace(".000Z", "Z")}）`;
}

/** Who granted what to whom and when, in one paragraph. */
export function grantInWords(s: EvidenceSummary, timeZone = DEFAULT_REPORT_TIME_ZONE): string {
  const merchant = s.registeredAs && s.registeredAs !== s.merchant ? `“${s.registeredAs}”（${s.merchant}）` : `“${s.merchant}”`;
  const claims = s.claimNames.map(claimInWords).join("、") || "无 (none)";
  const withdrawal = s.withdrawal ? ` 该授权已于 ${timeInWords(s.withdrawal.withdrawnAt, timeZone)} 被本人撤回${s.withdrawal.acknowledgedAt ? `，商户于 ${timeInWords(s.withdrawal.acknowledgedAt, timeZone)} 确认${s.withdrawal.dataDeleted ? "并删除了数据" : ""}` : ""}。` : "";
  return (
    `持有密钥 ${s.holder} 的本人于 ${timeInWords(s.consentedAt, timeZone)} 同意向商户${merchant}授权，级别为：${levelInWords(s.level)}；` +
    `披露的项目（仅名称，不含内容）：${claims}；声明的目的：“${s.purpose}”。商户于 ${timeInWords(s.grantedAt, timeZone)} 会签了授权回执。${withdrawal}`
  );
}

/** The check as a clerk reads it: what was checked, the result, and the reason in words (never a code). */
export function checkRowInWords(c: EvidenceCheck): { what: string; result: string; detail: string } {
  return { what: checkInWords(c.check), result: statusInWords(c.status), detail: c.detail.replace(/\bERR_[A-Z0-9_]+\b:?\s*/g, "") };
}
