import { existsSync } from "node:fs";
import PDFDocument from "pdfkit";
import { AgentError } from "../errors.js";
import type { NotaryReportSubject, ReportAnchor } from "./signed-report.js";
import { reportHash } from "./signed-report.js";
import { checkRowInWords, grantInWords, levelInWords, claimInWords, timeInWords } from "./report-words.js";

/**
 * A CJK font on this machine (WenQuanYi Micro Hei, Debian `fonts-wqy-microhei`, which
 * scripts/install-browser.sh installs), or NOTARY_CJK_FONT. pdfkit embeds only the glyphs used (a subset).
 */
export const DEFAULT_CJK_FONTS = [
  { path: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", family: "WenQuanYiMicroHei" },
  { path: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", family: "NotoSansCJKsc-Regular" },
];

export function findCjkFont(env: NodeJS.ProcessEnv = process.env): { path: string; family?: string } {
  if (env.NOTARY_CJK_FONT) return { path: env.NOTARY_CJK_FONT, family: env.NOTARY_CJK_FONT_FAMILY };
  const found = DEFAULT_CJK_FONTS.find((f) => existsSync(f.path));
  if (!found) throw new AgentError("ERR_CONFIG", "no CJK font found: install fonts-wqy-microhei (scripts/install-browser.sh) or set NOTARY_CJK_FONT to a TTF/OTF/TTC file");
  return found;
}

/**
 * The printable report a court clerk reads: report number, verdict, who granted what to whom and when (in
 * the reader's time zone and in words), each check in words, where the receipts and the report itself are
 * anchored, the trust anchors, and the notary's signature block. Everything printed is what the notary signed.
 */
export async function renderReportPdf(args: { subject: NotaryReportSubject; reportJwt: string; notary: { did: string; name?: string }; anchor?: ReportAnchor; font?: { path: string; family?: string } }): Promise<Buffer> {
  const { subject: s, anchor } = args;
  const font = args.font ?? findCjkFont();
  const tz = s.timeZone;
  const doc = new PDFDocument({ size: "A4", margin: 56, info: { Title: `公证证据报告 Evidence report ${s.reportNumber}`, Author: args.notary.name ?? args.notary.did, Subject: `bundle ${s.bundleHash}`, CreationDate: new Date(s.generatedAt) } });
  const chunks: Buffer[] = [];
  doc.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on("end", () => resolve());
    doc.on("error", reject);
  });
  doc.registerFont("cjk", font.path, font.family);
  doc.font("cjk");
  const width = doc.page.width - 112;
  const heading = (text: string) => {
    doc.moveDown(0.8).fontSize(13).fillColor("#000").text(text, { width });
    doc.moveTo(56, doc.y + 2).lineTo(56 + width, doc.y + 2).strokeColor("#999").stroke();
    doc.moveDown(0.4).fontSize(10);
  };
  const row = (label: string, value: string) => {
    doc.fontSize(9).fillColor("#555").text(label, { width });
    doc.fontSize(10).fillColor("#000").text(value, { width, indent: 12 });
    doc.moveDown(0.2);
  };

  doc.fontSize(18).text("公证证据报告", { align: "center" });
  doc.fontSize(11).fillColor("#555").text("Notary evidence report on a graded identity grant", { align: "center" });
  doc.moveDown(0.6).fillColor("#000").fontSize(10);
  row("报告编号 Report number", s.reportNumber);
  row("出具时间 Issued", timeInWords(s.generatedAt, tz));
  row("所涉证据包的哈希 Bundle hash (sha-256 of its canonical JSON)", s.bundleHash);

  doc.moveDown(0.4).fontSize(12).fillColor(s.verified ? "#1a7f37" : "#b42318");
  doc.text(s.verified ? "结论：全部核验通过。回执真实、未被改动，并已按下文所述写入区块链。" : "结论：未能全部核验通过（见下文各项）。", { width });
  doc.fontSize(9).text(s.verified ? "Verdict: every check passed; the receipts are authentic, unaltered, and anchored on chain as stated below." : "Verdict: NOT verified; at least one check failed or could not be made.", { width });
  doc.fillColor("#000");

  heading("授权内容 What was granted");
  if (s.grant) {
    doc.fontSize(10).text(grantInWords(s.grant, tz), { width });
    doc.moveDown(0.4);
    row("商户（数据控制者）Merchant", s.grant.registeredAs ?? s.grant.merchant);
    row("授权级别 Level", levelInWords(s.grant.level));
    row("披露的项目（仅名称）Items disclosed (names only)", s.grant.claimNames.map(claimInWords).join("、") || "无");
    row("目的 Purpose", s.grant.purpose);
    row("本人同意时间 Consent given", timeInWords(s.grant.consentedAt, tz));
    row("商户会签时间 Counter-signed", timeInWords(s.grant.grantedAt, tz));
    if (s.grant.withdrawal) row("撤回 Withdrawal", `已于 ${timeInWords(s.grant.withdrawal.withdrawnAt, tz)} 撤回${s.grant.withdrawal.acknowledgedAt ? `；商户于 ${timeInWords(s.grant.withdrawal.acknowledgedAt, tz)} 确认` : ""}`);
    else row("撤回 Withdrawal", "无：证据包中没有撤回回执 (none in the bundle)");
  } else doc.text("回执无法读取 (the receipts could not be read)", { width });

  heading("上链位置 Where the receipts are anchored");
  const where = (label: string, a: { chainId: string; contract: string; blockNumber: number; txHash: string; timestamp: number; root: string } | undefined) => {
    if (!a) return row(label, "无 (none)");
    row(label, `链 ${a.chainId}，合约 ${a.contract}，区块 ${a.blockNumber}，交易 ${a.txHash}，出块时间 ${timeInWords(a.timestamp, tz)}；默克尔根 ${a.root}`);
  };
  where("同意回执 Consent receipt", s.anchors.consent as never);
  where("授权回执 Grant receipt", s.anchors.grant as never);
  if (s.withdrawalAnchors) {
    where("撤回回执 Withdrawal receipt", s.withdrawalAnchors.receipt as never);
    where("撤回确认 Withdrawal acknowledgement", s.withdrawalAnchors.acknowledgement as never);
  }

  heading("逐项核验 How each fact was checked");
  for (const c of s.checks) {
    const w = checkRowInWords({ ...c });
    doc.fontSize(10).fillColor(c.status === "pass" ? "#1a7f37" : c.status === "fail" ? "#b42318" : "#9a6700").text(`${w.result}　`, { continued: true }).fillColor("#000").text(w.what, { width });
    doc.fontSize(8).fillColor("#555").text(w.detail, { width, indent: 12 });
    doc.fillColor("#000").moveDown(0.2);
  }

  heading("所用信任锚 Trust anchors used");
  const t = s.trustAnchors;
  row("可信链 Trusted chain", `${t.chainId ?? "（以节点为准）"} ${t.rpcUrl ? `@ ${t.rpcUrl}` : ""}`);
  row("可信登记合约 Trusted registry contract", t.contracts.join(", ") || "无");
  row("可信身份签发方 Trusted issuers", t.issuers.join(", ") || "无");
  if (t.registrySnapshot) row("商户名录快照 Merchant registry relied on", `${t.registrySnapshot.hash}（签发方 ${t.registrySnapshot.issuer ?? "?"}，${t.registrySnapshot.issuedAt ?? ""}）`);

  heading("本报告的上链 This report's own anchor");
  if (anchor) {
    row("报告哈希 Report hash (sha-256 of the signed report)", reportHash(args.reportJwt));
    row("上链位置 Anchored", `链 ${anchor.chainId}，合约 ${anchor.contract}，区块 ${anchor.blockNumber}，交易 ${anchor.txHash}`);
    row("时间证明 Dated", `本报告不晚于 ${timeInWords(anchor.timestamp, tz)} 已存在 (the report existed by then)`);
  } else row("上链 Anchor", "未上链 (not anchored)");

  heading("公证机构签名 Notary's signature");
  row("公证机构 Notary", args.notary.name ? `${args.notary.name}（${args.notary.did}）` : args.notary.did);
  row("签名方式 Signature", `W3C 可验证凭证（JWT），算法 ${JSON.parse(Buffer.from(args.reportJwt.split(".")[0]!, "base64url").toString()).alg}，密钥 ${args.notary.did}`);
  row("签名值 Signature value", args.reportJwt.split(".")[2] ?? "");
  doc.moveDown(0.4).fontSize(8).fillColor("#555").text(
    "核验方法：任何人可用 `notary check-report 报告文件.json` 核验签名、所涉证据包及报告的上链记录。回执仅以加盐哈希上链，链上不含任何个人信息。" +
      " To verify: `notary check-report REPORT.json` checks the notary's signature, the bundle the report covers, and the report's anchor. Receipts are on chain only as salted hashes; no personal data is on chain.",
    { width },
  );
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
