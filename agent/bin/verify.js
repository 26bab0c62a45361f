#!/usr/bin/env node
// The verify command line, compiled: dist/ is built by `npm install` (the root `prepare` step) or `npm run build`.
try {
  await import("../../dist/cli/verify.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/verify.js")) throw error;
  process.stderr.write("verify is not built: run `npm run build` in the repository (npm install does it too)\n");
  process.exit(1);
}
