import { expect } from "chai";
import { CredentialIssuance, MemoryDocumentStore, RegistrationService, SpentTokens, sweepIssuer } from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

/** The issuer's sweep (issue 12 §5): expired offers, c_nonces, registration nonces and challenges, spent jtis go; live ones stay. Injected clock. */
describe("issuer sweep with an injected clock", () => {
  it("removes exactly what expired", async () => {
    let now = new Date("2030-01-01T00:00:00Z");
    const clock = () => now;
    const key = newTestKey();
    const offers = new MemoryDocumentStore<any>();
    const cNonces = new MemoryDocumentStore<{ expiresAt: number }>();
    const issuance = new CredentialIssuance({ baseUrl: () => "https://issuer.example", issuer: { did: key.did, name: "Sweep", signer: key.signer }, offers, nonces: cNonces, batchSize: 2, issue: async () => [], clock });
    const regNonces = new MemoryDocumentStore<{ expiresAt: number }>();
    const pending = new MemoryDocumentStore<any>();
    const registration = new RegistrationService({ nonces: regNonces, pending, clock } as never);
    const spentTokens = new SpentTokens(new MemoryDocumentStore());
    await issuance.createOffer("ref-1"); // offer valid 600 s
    await issuance.nonce(); // 300 s
    await registration.issueNonce(); // 300 s
    await pending.put("reg-1", { registrationId: "reg-1", sealed: "x", expiresAt: Math.floor(now.getTime() / 1000) + 600 });
    await spentTokens.spend("notary", "j".repeat(20), Math.floor(now.getTime() / 1000) + 301);
    expect((await sweepIssuer({ issuance, registration, spentTokens }, now)).total).to.equal(0);
    now = new Date(now.getTime() + 400_000); // nonces (300 s) and the jti (301 s) are past
    expect(await sweepIssuer({ issuance, registration, spentTokens }, now)).to.deep.include({ offers: 0, cNonces: 1, registrationNonces: 1, registrations: 0, jtis: 1 });
    now = new Date(now.getTime() + 600_000); // the offer (600 s + the token's 300 s) and the pending registration too
    expect(await sweepIssuer({ issuance, registration, spentTokens }, now)).to.deep.include({ offers: 1, registrations: 1, total: 2 });
    expect(await offers.list()).to.deep.equal([]);
    expect(await pending.list()).to.deep.equal([]);
  });
});
