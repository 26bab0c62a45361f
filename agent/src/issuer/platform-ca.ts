import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs it
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";
import { AgentError } from "../errors.js";
import { jwkFromDidKey } from "../identity/did-key.js";
import { registeredDnsNames } from "../grants/x509-client.js";
import type { DocumentStore } from "../stores/document-store.js";
import type { MerchantEntry } from "./trust-registry.js";

/**
 * The platform's own certificate authority for merchants (OpenID4VP 1.0 §5.9.3 `x509_san_dns` clients, HAIP):
 * a P-256 key, sealed at rest by the issuer's data key like the identities it keeps, and a self-signed root
 * certificate wallets pin as their trust anchor. It certifies a registered merchant's P-256 key (its did:key)
 * for one of the DNS names the registry lists for it: the name never comes from the request.
 *
 * @peculiar/x509 (pure JS on WebCrypto, maintained by PeculiarVentures) builds and parses the certificates;
 * node:crypto alone can parse but not create them.
 */
const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const ES256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
export const MERCHANT_CERT_DAYS = 90;
const ROOT_YEARS = 10;

/** Seals and opens the CA's private key at rest (the issuer's DataKey). */
export interface Sealer {
  seal(plaintext: string, associated?: string): string;
  open(sealed: string, associated?: string): string;
}

interface StoredCa {
  /** PKCS#8 of the CA key, sealed. */
  sealedKey: string;
  /** The root certificate, DER base64. */
  rootDer: string;
}

const SEAL_CONTEXT = "realname-platform-ca-key-v1";

export interface MerchantCertificate {
  /** The `x5c` a merchant sends (RFC 7515 §4.1.6): the leaf first, base64 DER, no root. */
  x5c: string[];
  /** The same leaf as PEM, for the merchant's configuration file. */
  pem: string;
  dnsName: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
}

export class PlatformCa {
  private constructor(
    private readonly key: CryptoKey,
    readonly root: x509.X509Certificate,
  ) {}

  /** The CA stored in `store`, created on first use (key sealed by `sealer`). */
  static async open(store: DocumentStore<StoredCa>, sealer: Sealer, options: { name?: string; now?: Date } = {}): Promise<PlatformCa> {
    const existing = await store.get("ca");
    if (existing) {
      const pkcs8 = Buffer.from(sealer.open(existing.sealedKey, SEAL_CONTEXT), "base64");
      const key = await subtle.importKey("pkcs8", pkcs8, ES256, false, ["sign"]);
      return new PlatformCa(key, new x509.X509Certificate(Buffer.from(existing.rootDer, "base64")));
    }
    const now = options.now ?? new Date();
    const keys = (await subtle.generateKey(ES256, true, ["sign", "verify"])) as CryptoKeyPair;
    const root = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: [{ CN: [options.name ?? "Real-Name Platform Merchant CA"] }],
        keys,
        signingAlgorithm: ES256,
        notBefore: now,
        notAfter: new Date(now.getTime() + ROOT_YEARS * 365 * 86_400_000),
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true), // signs leaves only: no intermediate below it
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto as unknown as Crypto),
        ],
      },
      webcrypto as unknown as Crypto,
    );
    const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
    const stored: StoredCa = { sealedKey: sealer.seal(pkcs8, SEAL_CONTEXT), rootDer: Buffer.from(root.rawData).toString("base64") };
    // Two starts racing: the first CA stored wins and both use it.
    if (!(await store.putIfAbsent("ca", stored))) return PlatformCa.open(store, sealer, options);
    const key = await subtle.importKey("pkcs8", Buffer.from(pkcs8, "base64"), ES256, false, ["sign"]);
    return new PlatformCa(key, root);
  }

  get rootPem(): string {
    return this.root.toString("pem");
  }

  get rootDer(): Buffer {
    return Buffer.from(this.root.rawData);
  }

  /**
   * A leaf certificate for a registered merchant: its did:key's P-256 key, SAN dNSName `dnsName` (one of the
   * names its registry entry lists; the first when not given), keyUsage digitalSignature, not a CA, valid `days`.
   */
  async issueMerchantCertificate(merchant: MerchantEntry, options: { dnsName?: string; now: Date; days?: number }): Promise<MerchantCertificate> {
    let jwk: Record<string, unknown>;
    try {
      jwk = jwkFromDidKey(merchant.did) as unknown as Record<string, unknown>;
    } catch {
      throw new AgentError("ERR_INVALID_INPUT", "the merchant's DID is not a did:key");
    }
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new AgentError("ERR_X509_KEY_UNSUPPORTED", "a merchant certificate certifies a P-256 key (an ES256 merchant's did:key)");
    const names = registeredDnsNames(merchant);
    const dnsName = options.dnsName ?? names[0];
    if (!dnsName || !names.includes(dnsName)) throw new AgentError("ERR_X509_DNS_NOT_REGISTERED", "the DNS name must be the host of one of the merchant's registered origins");
    const days = options.days ?? MERCHANT_CERT_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > 397) throw new AgentError("ERR_INVALID_INPUT", "a merchant certificate is valid 1 to 397 days");
    const publicKey = await subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: String(jwk.x), y: String(jwk.y) }, ES256, true, ["verify"]);
    // A minute of back-dating for clocks a little behind the platform's.
    const notBefore = new Date(options.now.getTime() - 60_000);
    const leaf = await x509.X509CertificateGenerator.create(
      {
        subject: [{ CN: [dnsName] }, { O: [merchant.name] }],
        issuer: this.root.subject,
        publicKey,
        signingKey: this.key,
        signingAlgorithm: ES256,
        notBefore,
        notAfter: new Date(options.now.getTime() + days * 86_400_000),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.SubjectAlternativeNameExtension([{ type: "dns", value: dnsName }], false),
          await x509.AuthorityKeyIdentifierExtension.create(this.root.publicKey, false, webcrypto as unknown as Crypto),
        ],
      },
      webcrypto as unknown as Crypto,
    );
    return {
      x5c: [Buffer.from(leaf.rawData).toString("base64")],
      pem: leaf.toString("pem"),
      dnsName,
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      serialNumber: leaf.serialNumber,
    };
  }
}

