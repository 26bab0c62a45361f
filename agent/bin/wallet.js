#!/usr/bin/env node
// The wallet command line, compiled: dist/ is built by `npm install` (the root `prepare` step) or `npm run build`.
try {
  await import("../../dist/cli/wallet.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/wallet.js")) throw error;
  process.stderr.write("wallet is not built: run `npm run build` in the repository (npm install does it too)\n");
  process.exit(1);
}
