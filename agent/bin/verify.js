#!/usr/bin/env node
// The verify command line is TypeScript; tsx compiles it on the fly (no build step to forget).
import { register } from "tsx/esm/api";
register();
await import("../src/cli/verify.ts");
