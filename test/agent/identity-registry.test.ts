import { expect } from "chai";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, FileIdentityRegistry, HttpsIdentityRegistry, identityRegistryFromEnv, parseRegistryFile, validateResidentIdNumber, withCheckDigit } from "@realname/agent";
import { makeRegistryFixture, type RegistryFixture } from "../../scripts/lib/registry-fixture.js";
import { testCa } from "../helpers/tls.js";

const codeOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (e) {
    return { code: (e as { code?: string }).code, problem: ((e as { details?: { problem?: string } }).details ?? {}).problem };
  }
  return { code: "no error" };
};

describe("GB 11643-1999 ID numbers: every way a number is wrong has its own code", () => {
  it("accepts a valid number and answers its birth date", () => {
    expect(validateResidentIdNumber("110105199003071239")).to.deep.equal({ valid: true, birthDate: "1990-03-07" });
    expect(validateResidentIdNumber(withCheckDigit("11010519900307123")).valid).to.equal(true);
  });
  const cases: Array<[string, string]> = [
    ["11010519900307123", "ID_FORMAT"],
    ["11010519900307123Y", "ID_FORMAT"],
    [withCheckDigit("99010519900307123"), "ID_REGION"],
    [withCheckDigit("11000019900307123"), "ID_REGION"],
    [withCheckDigit("11010519900230123"), "ID_BIRTH_DATE"],
    [withCheckDigit("11010518991231123"), "ID_BIRTH_DATE"],
    ["110105199003071238", "ID_CHECK_DIGIT"],
  ];
  for (const [value, code] of cases) it(`${value} → ${code}`, () => expect(validateResidentIdNumber(value).code).to.equal(code));
  it("a birth date after today is refused when today is given", () => {
    const id = withCheckDigit("11010520300101123");
    expect(validateResidentIdNumber(id).valid).to.equal(true);
    expect(validateResidentIdNumber(id, new Date("2026-11-22T00:00:00Z")).code).to.equal("ID_BIRTH_DATE");
  });
});

describe("registry fixture generator and the file adapter", () => {
  let fixture: RegistryFixture;
  const dir = mkdtempSync(join(tmpdir(), "registry-"));
  before(async () => {
    fixture = await makeRegistryFixture({ count: 300, outDir: dir, seed: 7, poolSize: 8 });
  });

  it("makes the asked number of distinct people, each with a valid ID number whose birth date is theirs", () => {
    expect(fixture.people).to.have.length(300);
    expect(new Set(fixture.people.map((p) => p.idNumber)).size).to.equal(300);
    for (const p of fixture.people) expect(validateResidentIdNumber(p.idNumber).birthDate).to.equal(p.birthDate);
  });
  it("is deterministic: the same seed gives the same people", async () => {
    const again = await makeRegistryFixture({ count: 5, outDir: mkdtempSync(join(tmpdir(), "registry-")), seed: 7, poolSize: 8 });
    expect(again.people.map((p) => p.idNumber)).to.deep.equal(fixture.people.slice(0, 5).map((p) => p.idNumber));
  });
  it("the file adapter (NDJSON) finds each person with the registry's record reference and a shared pool photo", async () => {
    const registry = new FileIdentityRegistry(fixture.file);
    expect(registry.size).to.equal(300);
    const p = fixture.people[42]!;
    // Person i has pool face i mod pool size (a real photo by default).
    expect(p.photo).to.match(new RegExp(`^portraits/face-${String(42 % 8).padStart(4, "0")}\\.(jpg|png)$`));
    expect(await registry.lookup(p.idNumber.toLowerCase())).to.deep.equal({ idNumber: p.idNumber, fullName: p.fullName, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate, recordId: p.recordId });
    expect(Buffer.from((await registry.photo(p.idNumber))!).equals(readFileSync(join(dir, p.photo)))).to.equal(true);
    expect(await registry.lookup(withCheckDigit("11010519900307999"))).to.equal(undefined);
  });
  it("embedded photos (base64 in the record) are answered as the same bytes", async () => {
    const embedded = await makeRegistryFixture({ count: 3, outDir: mkdtempSync(join(tmpdir(), "registry-")), seed: 7, poolSize: 8, embed: true });
    expect(readFileSync(embedded.file, "utf8")).to.contain("photoBase64");
    const registry = new FileIdentityRegistry(embedded.file);
    expect(Buffer.from((await registry.photo(embedded.people[1]!.idNumber))!).equals(readFileSync(join(dir, fixture.people[1]!.photo)))).to.equal(true);
  });
  it("the JSON form (the checked-in fixture) loads through the configuration's default", async () => {
    const registry = identityRegistryFromEnv({}, join(REPO_ROOT, "issuer-service", "fixtures", "identity-registry.json"));
    expect((await registry.lookup("110105199003071239"))?.fullName).to.equal("张三");
  });
});

describe("registry files with bad records are refused at load, with the record and the problem code", () => {
  const record = (over: Record<string, unknown> = {}) => JSON.stringify({ idNumber: "110105199003071239", fullName: "张三", familyName: "张", givenName: "三", birthDate: "1990-03-07", ...over });
  const cases: Array<[string, string, string]> = [
    ["a line that is not JSON", `${record()}\n{oops`, "NOT_JSON"],
    ["a wrong check digit", record({ idNumber: "110105199003071238" }), "ID_CHECK_DIGIT"],
    ["an impossible birth date", record({ idNumber: withCheckDigit("11010519900230123"), birthDate: "1990-02-30" }), "ID_BIRTH_DATE"],
    ["a birth date that is not the number's", record({ birthDate: "1990-03-08" }), "BIRTH_DATE_MISMATCH"],
    ["the same number twice", `${record()}\n${record({ fullName: "张四" })}`, "DUPLICATE"],
    ["an unknown field", record({ extra: 1 }), "RECORD_SHAPE"],
    ["a photo path and an embedded photo", record({ photo: "a.png", photoBase64: "AAAA" }), "RECORD_SHAPE"],
  ];
  for (const [name, text, problem] of cases) {
    it(name, async () => expect(await codeOf(() => parseRegistryFile(text, true))).to.deep.equal({ code: "ERR_REGISTRY_INVALID", problem }));
  }
  it("a JSON file without a people array, and a missing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "registry-"));
    writeFileSync(join(dir, "r.json"), JSON.stringify({ persons: [] }));
    expect(await codeOf(() => new FileIdentityRegistry(join(dir, "r.json")))).to.deep.equal({ code: "ERR_REGISTRY_INVALID", problem: "NO_PEOPLE" });
    expect(await codeOf(() => new FileIdentityRegistry(join(dir, "missing.ndjson")))).to.deep.equal({ code: "ERR_REGISTRY_INVALID", problem: "UNREADABLE" });
  });
  it("configuration: an unknown adapter and an https adapter without its client certificate are refused", async () => {
    expect((await codeOf(() => identityRegistryFromEnv({ IDENTITY_REGISTRY: "ldap" }, "x"))).code).to.equal("ERR_CONFIG");
    expect((await codeOf(() => identityRegistryFromEnv({ IDENTITY_REGISTRY: "https", IDENTITY_REGISTRY_URL: "https://127.0.0.1:1" }, "x"))).code).to.equal("ERR_CONFIG");
  });
});

describe("HTTPS adapter: a real ID-check service over mutual TLS on loopback", () => {
  let server: Server;
  let url: string;
  let fixture: RegistryFixture;
  let ca: Awaited<ReturnType<typeof testCa>>;
  let client: { cert: string; key: string };
  const seenClients: string[] = [];
  let answer: ((id: string) => { status: number; body: unknown }) | undefined;

  before(async () => {
    fixture = await makeRegistryFixture({ count: 20, outDir: mkdtempSync(join(tmpdir(), "registry-")), seed: 11, poolSize: 4, embed: true });
    const records = new Map(readFileSync(fixture.file, "utf8").trim().split("\n").map((l) => [JSON.parse(l).idNumber as string, JSON.parse(l)]));
    ca = await testCa("ID-check CA");
    const serverPem = await ca.server();
    client = await ca.client("issuer.example");
    server = createServer({ ...serverPem, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seenClients.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      const id = decodeURIComponent(req.url!.replace(/^\/people\//, ""));
      const planned = answer?.(id);
      const status = planned?.status ?? (records.has(id) ? 200 : 404);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(planned ? planned.body : records.get(id) ?? { error: "not found" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  afterEach(() => (answer = undefined));

  it("looks a person up with the issuer's client certificate and answers the record and its photo", async () => {
    const registry = new HttpsIdentityRegistry({ baseUrl: url, clientCert: client.cert, clientKey: client.key, ca: ca.cert });
    const p = fixture.people[3]!;
    expect(await registry.lookup(p.idNumber)).to.deep.equal({ idNumber: p.idNumber, fullName: p.fullName, familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate, recordId: p.recordId });
    expect((await registry.photo(p.idNumber))!.length).to.be.greaterThan(100);
    expect(await registry.lookup(withCheckDigit("11010519900307999"))).to.equal(undefined);
    expect(seenClients.at(-1)).to.equal("issuer.example");
    await registry.close();
  });
  it("a client certificate the service does not trust is refused at the handshake: ERR_REGISTRY_UPSTREAM", async () => {
    const other = await (await testCa("Other CA")).client("intruder");
    const registry = new HttpsIdentityRegistry({ baseUrl: url, clientCert: other.cert, clientKey: other.key, ca: ca.cert });
    expect((await codeOf(() => registry.lookup(fixture.people[0]!.idNumber))).code).to.equal("ERR_REGISTRY_UPSTREAM");
    await registry.close();
  });
  it("a server certificate from another CA is not trusted: ERR_REGISTRY_UPSTREAM", async () => {
    const registry = new HttpsIdentityRegistry({ baseUrl: url, clientCert: client.cert, clientKey: client.key, ca: (await testCa("Wrong CA")).cert });
    expect((await codeOf(() => registry.lookup(fixture.people[0]!.idNumber))).code).to.equal("ERR_REGISTRY_UPSTREAM");
    await registry.close();
  });
  it("an answer for another number, a malformed answer or a 500 is an upstream failure, never a person", async () => {
    const registry = new HttpsIdentityRegistry({ baseUrl: url, clientCert: client.cert, clientKey: client.key, ca: ca.cert });
    const [a, b] = [fixture.people[0]!, fixture.people[1]!];
    answer = () => ({ status: 200, body: { ...b, recordId: "x" } });
    expect((await codeOf(() => registry.lookup(a.idNumber))).code).to.equal("ERR_REGISTRY_UPSTREAM");
    answer = () => ({ status: 200, body: { idNumber: a.idNumber } });
    expect((await codeOf(() => registry.lookup(a.idNumber))).code).to.equal("ERR_REGISTRY_UPSTREAM");
    answer = () => ({ status: 500, body: {} });
    expect((await codeOf(() => registry.lookup(a.idNumber))).code).to.equal("ERR_REGISTRY_UPSTREAM");
    await registry.close();
  });
  it("a malformed number is never sent upstream; plain http is refused at configuration", async () => {
    const registry = new HttpsIdentityRegistry({ baseUrl: url, clientCert: client.cert, clientKey: client.key, ca: ca.cert });
    const before = seenClients.length;
    expect(await registry.lookup("../../admin")).to.equal(undefined);
    expect(seenClients.length).to.equal(before);
    await registry.close();
    expect((await codeOf(() => new HttpsIdentityRegistry({ baseUrl: url.replace("https", "http"), clientCert: client.cert, clientKey: client.key }))).code).to.equal("ERR_CONFIG");
  });
});
