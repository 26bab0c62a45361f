import { randomBytes } from "node:crypto";

/** The test PostgreSQL (scripts/install-test-deps.sh starts one): trust auth on loopback, database `test`. */
export const PG_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema of its own per test run (dropped by the test afterwards), so runs never see each other's rows. */
export function uniqueSchema(purpose: string): string {
  return `t_${purpose}_${process.pid}_${randomBytes(4).toString("hex")}`;
}
