import { expect } from "chai";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getGlobalConfig } from "@openid4vc/utils";
import { allowHttpIfLoopback, boundedFetch, fetchJson, isPrivateHost, withFetchPolicy } from "@realname/agent";

/**
 * Every outbound fetch is bounded (issue 12 §5): real HTTP servers on loopback play the hostile side — a
 * server that never answers, an endless body, redirects to another host or to a private address — and each
 * refusal carries its own code.
 */
describe("boundedFetch: https only, no redirect elsewhere, a time limit, a size cap while streaming", () => {
  let server: Server;
  let base: string;
  /** Bytes the endless route managed to write, and whether its connection was cut by the client. */
  const endless = { written: 0, closedByClient: false };
  const hanging = new Set<ServerResponse>();

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      if (path === "/ok") return void res.setHeader("content-type", "application/json").end('{"ok":true}');
      if (path === "/slow") return void hanging.add(res); // headers never come
      if (path === "/slow-body") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("a little, then nothing");
        return void hanging.add(res);
      }
      if (path === "/endless") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) endless.written += chunk.length;
          if (!res.destroyed) endless.written += chunk.length;
        };
        res.on("drain", pump);
        res.on("close", () => (endless.closedByClient = !res.writableFinished));
        return void pump();
      }
      if (path === "/declared-huge") return void res.writeHead(200, { "content-length": String(50_000_000) }).end();
      if (path === "/to-other-host") return void res.writeHead(302, { location: "https://example.com/steal" }).end();
      if (path === "/to-private") return void res.writeHead(302, { location: "http://10.0.0.7/admin" }).end();
      if (path === "/to-metadata") return void res.writeHead(307, { location: "http://169.254.169.254/latest/meta-data" }).end();
      if (path === "/to-localhost-port") return void res.writeHead(302, { location: `http://localhost:1/` }).end();
      if (path === "/same-origin") return void res.writeHead(302, { location: "/ok" }).end();
      if (path === "/loop") return void res.writeHead(302, { location: "/loop" }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const dev = { allowLoopbackHttp: true };
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return "fetched";
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  };

  it("fetches a loopback service over http when the call allows it, and keeps the body readable", async () => {
    const res = await boundedFetch(`${base}/ok`, {}, dev);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ ok: true });
  });

  it("refuses plain http to a loopback address when the call does not allow it (ERR_FETCH_INSECURE)", async () => {
    expect(await codeOf(boundedFetch(`${base}/ok`))).to.equal("ERR_FETCH_INSECURE");
  });

  it("refuses plain http to a non-loopback host even when loopback http is allowed (ERR_FETCH_INSECURE)", async () => {
    expect(await codeOf(boundedFetch("http://example.com/x", {}, dev))).to.equal("ERR_FETCH_INSECURE");
    expect(await codeOf(boundedFetch("http://10.1.2.3/x", {}, dev))).to.equal("ERR_FETCH_INSECURE");
    expect(await codeOf(boundedFetch("file:///etc/passwd", {}, dev))).to.equal("ERR_FETCH_INSECURE");
    expect(await codeOf(fetchJson("http://example.com/x"))).to.equal("ERR_FETCH_INSECURE");
  });

  it("a server that never answers: ERR_FETCH_TIMEOUT at the time limit (headers, and a body that stalls)", async () => {
    const started = Date.now();
    expect(await codeOf(boundedFetch(`${base}/slow`, {}, { ...dev, timeoutMs: 300 }))).to.equal("ERR_FETCH_TIMEOUT");
    expect(await codeOf(boundedFetch(`${base}/slow-body`, {}, { ...dev, timeoutMs: 300 }))).to.equal("ERR_FETCH_TIMEOUT");
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it("an endless body: reading stops at the cap (ERR_FETCH_TOO_LARGE) and the connection is cut", async () => {
    const maxBytes = 64 * 1024;
    let details: { readBytes: number; maxBytes: number } | undefined;
    try {
      await boundedFetch(`${base}/endless`, {}, { ...dev, maxBytes, timeoutMs: 20_000 });
      expect.fail("an endless body was read");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ERR_FETCH_TOO_LARGE");
      details = (error as { details: typeof details }).details;
    }
    // Read no more than the cap plus the one chunk that crossed it.
    expect(details!.readBytes).to.be.greaterThan(maxBytes).and.lessThan(maxBytes + 256 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(endless.closedByClient).to.equal(true);
    // The server could write only what the socket buffers held, far from an unbounded read.
    expect(endless.written).to.be.lessThan(64 * 1024 * 1024);
  });

  it("a declared Content-Length over the cap is refused before reading", async () => {
    expect(await codeOf(boundedFetch(`${base}/declared-huge`, {}, { ...dev, maxBytes: 1000 }))).to.equal("ERR_FETCH_TOO_LARGE");
  });

  it("a redirect to another host is not followed (ERR_FETCH_REDIRECT_CROSS_HOST)", async () => {
    expect(await codeOf(boundedFetch(`${base}/to-other-host`, {}, dev))).to.equal("ERR_FETCH_REDIRECT_CROSS_HOST");
  });

  it("a redirect to a private or loopback address is not followed (ERR_FETCH_REDIRECT_PRIVATE)", async () => {
    expect(await codeOf(boundedFetch(`${base}/to-private`, {}, dev))).to.equal("ERR_FETCH_REDIRECT_PRIVATE");
    expect(await codeOf(boundedFetch(`${base}/to-metadata`, {}, dev))).to.equal("ERR_FETCH_REDIRECT_PRIVATE");
    expect(await codeOf(boundedFetch(`${base}/to-localhost-port`, {}, dev))).to.equal("ERR_FETCH_REDIRECT_PRIVATE");
  });

  it("follows a redirect within the same origin, a bounded number of times", async () => {
    expect(await (await boundedFetch(`${base}/same-origin`, {}, dev)).json()).to.deep.equal({ ok: true });
    expect(await codeOf(boundedFetch(`${base}/loop`, {}, dev))).to.equal("ERR_FETCH_TOO_MANY_REDIRECTS");
  });

  it("fetchJson (wallet, verifier, notary) goes through it: an endless body stops at the cap, a redirect elsewhere is not followed", async () => {
    expect(await codeOf(fetchJson(`${base}/endless`, { maxBytes: 64 * 1024, timeoutMs: 5000 }))).to.equal("ERR_FETCH_TOO_LARGE");
    expect(await codeOf(fetchJson(`${base}/to-other-host`, { timeoutMs: 5000 }))).to.equal("ERR_FETCH_REDIRECT_CROSS_HOST");
    expect(await codeOf(fetchJson(`${base}/to-metadata`, { timeoutMs: 5000 }))).to.equal("ERR_FETCH_REDIRECT_PRIVATE");
  });

  it("the OpenID4VC libraries' http permission is per call: a call allowed on loopback leaves every other call https-only", async () => {
    // A call elsewhere (its own async context) is granted loopback http, as the wallet does for a local link...
    await new Promise<void>((resolve) =>
      setImmediate(() =>
        allowHttpIfLoopback(`${base}/request`, async () => {
          expect(getGlobalConfig().allowInsecureUrls).to.equal(true);
        }).then(resolve),
      ),
    );
    // ...the permission ends with the call, even in the same async chain (before: it stayed for the rest of it)...
    await allowHttpIfLoopback(`${base}/request`, async () => expect(getGlobalConfig().allowInsecureUrls).to.equal(true));
    expect(getGlobalConfig().allowInsecureUrls).to.equal(false);
    expect(await codeOf(boundedFetch(`${base}/same-origin`))).to.equal("ERR_FETCH_INSECURE");
    // an https URL never grants it
    expect(await allowHttpIfLoopback("https://example.com/request", async () => getGlobalConfig().allowInsecureUrls)).to.equal(false);
    // ...and this one, which was not, still sees the libraries' https-only rule (before: flipped for the process).
    expect(getGlobalConfig().allowInsecureUrls).to.equal(false);
    expect(await withFetchPolicy({ allowLoopbackHttp: true }, async () => getGlobalConfig().allowInsecureUrls)).to.equal(true);
    expect(getGlobalConfig().allowInsecureUrls).to.equal(false);
  });

  it("classifies private addresses", () => {
    for (const h of ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "[fd00::1]", "[fe80::1]", "[::ffff:127.0.0.1]"]) expect(isPrivateHost(h), h).to.equal(true);
    for (const h of ["example.com", "8.8.8.8", "172.32.0.1", "[2001:db8::1]"]) expect(isPrivateHost(h), h).to.equal(false);
  });
});
