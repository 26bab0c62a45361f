import { IDENTITY_CLAIM_NAMES, type IdentityClaimName } from "./identity-credential.js";

/** Labels of the identity claims, Chinese and English (the wallet and any standard wallet show these). */
const CLAIM_LABELS: Record<IdentityClaimName, { "zh-CN": string; en: string }> = {
  real_name_verified: { "zh-CN": "已实名认证", en: "Real name verified" },
  age_over_18: { "zh-CN": "年满18周岁", en: "Over 18" },
  family_name: { "zh-CN": "姓", en: "Family name" },
  given_name: { "zh-CN": "名", en: "Given name" },
  full_name: { "zh-CN": "姓名", en: "Full name" },
  id_number: { "zh-CN": "公民身份号码", en: "National ID number" },
  birth_date: { "zh-CN": "出生日期", en: "Date of birth" },
  verification_commitment: { "zh-CN": "核验记录承诺值", en: "Verification record commitment" },
};

const display = (labels: { "zh-CN": string; en: string }) => [
  { locale: "zh-CN", label: labels["zh-CN"] },
  { locale: "en", label: labels.en },
];

/**
 * SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc, "Type Metadata") of the identity credential, served at
 * the `vct` URL itself: the type's display names in Chinese and English, and claim metadata for each identity
 * claim (path, zh-CN and en labels, `sd: "always"`: every identity claim is selectively disclosable) and for
 * the plain claims a verifier relies on (`status`, `cnf`: `sd: "never"`). The per-merchant member pseudonym
 * claims are named per merchant and are not listed (claim metadata is optional for a claim).
 */
export function identityTypeMetadata(vct: string): Record<string, unknown> {
  return {
    vct,
    name: "Real-name identity",
    description: "A person whose real name was verified once against the identity registry; every identity claim is selectively disclosable.",
    display: [
      { locale: "zh-CN", name: "实名身份凭证", description: "经身份登记机构核验一次的实名身份；每项身份信息均可选择性披露。" },
      { locale: "en", name: "Real-name identity", description: "A real name verified once against the identity registry; every identity claim is selectively disclosable." },
    ],
    claims: [
      ...IDENTITY_CLAIM_NAMES.map((name) => ({ path: [name], display: display(CLAIM_LABELS[name]), sd: "always" })),
      { path: ["status"], display: display({ "zh-CN": "凭证状态", en: "Credential status" }), sd: "never" },
      { path: ["cnf"], display: display({ "zh-CN": "持有人密钥", en: "Holder key" }), sd: "never" },
    ],
  };
}
