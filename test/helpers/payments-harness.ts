/**
 * The platform side of in-person payments in-process: the issuer's payment routes over real LevelDB, a real
 * Hardhat chain and anchoring queue, the fixture identity registry and the issuer's face matcher, real
 * HTTP on loopback, and a clock the test moves. Terminals are P-256 keys signing ES256 like a device would.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import {
  AnchorQueue,
  AnchorRegistryClient,
  createServiceApp,
  DataKey,
  devAccountKey,
  errorHandler,
  FileIdentityRegistry,
  generateSigningKey,
  IdentityVault,
  LevelDatabase,
  notFound,
  HumanFaceMatcher,
  REPO_ROOT,
  sha256Hex,
  signJwt,
  TERMINAL_TYP,
  TrustRegistry,
  type P256PublicJwk,
} from "@realname/agent";
import { paymentRoutes } from "../../issuer-service/src/routes/payments.js";
import { buildPaymentsPlatform } from "../../issuer-service/src/payments-platform.js";
import { chainWithRegistry } from "./chain.js";
import { call } from "./http.js";
import type { EmbeddedChain } from "../../scripts/lib/devnet.js";

export const ADMIN = "payments-test-admin";
export const portrait = (name: string) => readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", name));
export const REGISTRY_FILE = join(REPO_ROOT, "issuer-service", "fixtures", "identity-registry.json");
export const PEOPLE = { zhang: "110105199003071239", li: "310115198508154561" } as const;

export interface TestTerminal {
  terminalId: string;
  publicJwk: P256PublicJwk;
  sign(kind: keyof typeof TERMINAL_TYP, claims: Record<string, unknown>, at?: Date): Promise<string>;
}

export class PaymentsHarness {
  url = "";
  now = new Date("2026-11-22T10:00:00Z");
  readonly merchant = generateSigningKey("EdDSA");
  readonly issuerKey = generateSigningKey("EdDSA");
  private seq = 0;
  private constructor(
    private readonly work: string,
    readonly db: LevelDatabase,
    readonly queue: AnchorQueue,
    readonly chain: EmbeddedChain,
    private readonly registryClient: AnchorRegistryClient,
    private server?: Server,
    private stopPlatform?: () => void,
    readonly vault?: IdentityVault,
  ) {}

  static async start(options: { realClock?: boolean } = {}): Promise<PaymentsHarness> {
    const work = mkdtempSync(join(tmpdir(), "payments-"));
    const db = await LevelDatabase.open(join(work, "db"));
    const c = await chainWithRegistry();
    const registryClient = await AnchorRegistryClient.connect({ rpcUrl: c.chain.url, address: c.deployment.address, privateKey: devAccountKey(4) });
    const queue = new AnchorQueue({ store: db.store("anchor-queue"), registry: registryClient, maxAgeMs: 0 });
    const vault = new IdentityVault(db.store("identities"), new DataKey(randomBytes(32)));
    const h = new PaymentsHarness(work, db, queue, c.chain, registryClient, undefined, undefined, vault);
    h.deploymentFile = c.deploymentFile;
    const registry = new FileIdentityRegistry(REGISTRY_FILE);
    for (const id of Object.values(PEOPLE)) await vault.put({ person: (await registry.lookup(id))!, evidence: { method: "registry+face", verifiedAt: h.now.toISOString(), assurance: "substantial" }, statusIndexes: [] });
    const trust = (h.trust = new TrustRegistry(db.store("trust"), { did: h.issuerKey.did, signer: h.issuerKey.signer }));
    await trust.putMerchant({ did: h.merchant.did, name: "Corner Shop", maxLevel: "verified", purposes: ["payment"], fullClaims: [] } as never);
    const clock = options.realClock ? () => new Date() : () => h.now;
    const built = buildPaymentsPlatform({ db, vault, registry, faces: new HumanFaceMatcher(), trust, issuer: { did: h.issuerKey.did, signer: h.issuerKey.signer }, queue, clock });
    h.stopPlatform = built.stop;
    h.platform = built.payments;
    const app = createServiceApp({ bodyLimit: "3mb", log: (line) => h.logs.push(line) });
    app.use(paymentRoutes({ payments: built.payments, adminToken: ADMIN, clock }));
    app.use(notFound);
    app.use(errorHandler((line) => h.logs.push(line)));
    await new Promise<void>((resolve) => (h.server = app.listen(0, "127.0.0.1", () => resolve())));
    const addr = h.server!.address() as { port: number };
    h.url = `http://127.0.0.1:${addr.port}`;
    return h;
  }
  platform!: ReturnType<typeof buildPaymentsPlatform>["payments"];
  trust!: TrustRegistry;
  /** Every line the platform's HTTP layer logged. */
  readonly logs: string[] = [];
  deploymentFile = "";

  get audience(): string {
    return this.issuerKey.did;
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }

  admin(path: string, body: unknown, method = "POST") {
    return call(`${this.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN}` } });
  }

  /** A terminal key (not yet registered). */
  terminal(prefix: string): TestTerminal {
    const key = generateSigningKey("ES256");
    const terminalId = `${prefix}-${++this.seq}`;
    return {
      terminalId,
      publicJwk: key.publicJwk as P256PublicJwk,
      sign: (kind, claims, at) =>
        signJwt({ typ: TERMINAL_TYP[kind], kid: terminalId }, { aud: this.audience, iat: (at ?? this.now).getTime() / 1000, nonce: randomUUID(), ...claims }, key),
    };
  }

  async wallet(person: keyof typeof PEOPLE, opts: { optIn?: boolean; pin?: string } = {}): Promise<TestTerminal> {
    const t = this.terminal("wallet");
    const r = await this.admin("/admin/payments/terminals", { kind: "first", terminalId: t.terminalId, label: "phone", publicJwk: t.publicJwk, idNumber: PEOPLE[person], pin: opts.pin ?? "1234", peerOptIn: opts.optIn ?? true });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return t;
  }

  async pos(opts: { optIn?: boolean } = {}): Promise<TestTerminal> {
    const t = this.terminal("pos");
    const r = await this.admin("/admin/payments/terminals", { kind: "second", terminalId: t.terminalId, label: "till", publicJwk: t.publicJwk, merchantDid: this.merchant.did, peerOptIn: opts.optIn ?? false });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return t;
  }

  report(t: TestTerminal, pos: Record<string, unknown>, at?: Date) {
    return t.sign("position", { pos }, at).then((report) => call(`${this.url}/payments/positions`, { body: { report } }));
  }

  /** Which POS started each payment (its status is read with that terminal's signature). */
  private readonly startedBy = new Map<string, TestTerminal>();

  async start(posTerminal: TestTerminal, payer: TestTerminal, pos: Record<string, unknown>) {
    const message = await posTerminal.sign("start", { payer: payer.terminalId, pos });
    const r = await call(`${this.url}/payments/in-person`, { body: { message } });
    if (r.status === 201) this.startedBy.set(r.body.verificationId, posTerminal);
    return r;
  }

  async answer(peer: TestTerminal, verificationId: string, image?: Uint8Array, verdict: "confirm" | "decline" = "confirm") {
    const answer = await peer.sign("answer", { verification_id: verificationId, verdict, ...(image ? { image_sha256: sha256Hex(image) } : {}) });
    return call(`${this.url}/payments/peer-answers`, { body: { answer, ...(image ? { image: Buffer.from(image).toString("base64") } : {}) } });
  }

  /** The payment's state as its POS reads it (signed by that POS), or as `as` tries to. */
  async status(verificationId: string, as?: TestTerminal) {
    const reader = as ?? this.startedBy.get(verificationId);
    if (!reader) throw new TypeError(`no POS started ${verificationId} in this harness`);
    const message = await reader.sign("status", { verification_id: verificationId });
    return call(`${this.url}/payments/in-person/status`, { body: { message } });
  }

  async close(): Promise<void> {
    this.stopPlatform?.();
    await new Promise((r) => this.server?.close(r));
    await this.queue.stop();
    this.registryClient.close();
    await this.db.close();
    await this.chain.close();
    rmSync(this.work, { recursive: true, force: true });
  }
}
