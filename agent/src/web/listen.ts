import type { Server } from "node:http";
import type { Express } from "express";

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (0: a free port) and says where. The pages answer only to the Host names of that
 * address (and `localhost` for loopback), which `hosts` reads once the port is known.
 */
export async function listenOn(app: Express, host: string, port: number, hosts?: string[]): Promise<Listening> {
  const server: Server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const actual = (server.address() as { port: number }).port;
  if (hosts) {
    hosts.push(`${host}:${actual}`);
    if (host === "127.0.0.1" || host === "::1") hosts.push(`localhost:${actual}`);
  }
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
