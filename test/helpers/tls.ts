import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  cert: string;
  key: string;
}

/**
 * A CA that issues real X.509 certificates (ECDSA P-256) for TLS tests, made by the openssl command line:
 * server certificates for loopback (SAN 127.0.0.1 and localhost) and client certificates (clientAuth).
 */
export async function testCa(name = "Test CA") {
  const dir = mkdtempSync(join(tmpdir(), "test-ca-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  let serial = 0;
  const issue = (cn: string, usage: "server" | "client"): Pem => {
    const n = ++serial;
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${n}.key`, "-out", `${n}.csr`, "-subj", `/CN=${cn}`);
    writeFileSync(join(dir, `${n}.ext`), usage === "server" ? "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n" : "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
    ssl("x509", "-req", "-in", `${n}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(n + 1), "-days", "1", "-extfile", `${n}.ext`, "-out", `${n}.pem`);
    return { cert: readFileSync(join(dir, `${n}.pem`), "utf8"), key: readFileSync(join(dir, `${n}.key`), "utf8") };
  };
  return { cert: readFileSync(join(dir, "ca.pem"), "utf8"), server: async (cn = "localhost") => issue(cn, "server"), client: async (cn: string) => issue(cn, "client") };
}
