import { expect } from "chai";
import type { AddressInfo } from "node:net";
import { createServiceApp, errorHandler } from "@realname/agent";

describe("Per-client rate limit", () => {
  it("answers 429 ERR_RATE_LIMITED with Retry-After once a client exceeds its budget", async () => {
    const app = createServiceApp({ rateLimit: { max: 5, windowMs: 60_000 } });
    app.get("/ping", (_req, res) => void res.json({ ok: true }));
    app.use(errorHandler(() => undefined));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
    try {
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await fetch(url)).status);
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429]);
      const limited = await fetch(url);
      expect((await limited.json()).error.code).to.equal("ERR_RATE_LIMITED");
      expect(Number(limited.headers.get("retry-after"))).to.be.within(1, 60);
      expect(limited.headers.get("x-content-type-options")).to.equal("nosniff");
    } finally {
      server.close();
    }
  });
});
