import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Loads `@vladmandic/human` (face detector, 468-point mesh, 1024-d "faceres" embedding, anti-spoof and
 * liveness models, all shipped inside the npm package) on TensorFlow.js's wasm backend, once per process.
 * Nothing is fetched from the network: model and wasm URLs are `file://` URLs into node_modules, served by
 * a `fetch` wrapper that answers `file://` only and passes every other URL to the original `fetch`.
 */

/** The parts of human's face result this code reads (its own .d.ts is not reachable through its exports map). */
export interface HumanFace {
  box: [number, number, number, number];
  score: number;
  embedding?: number[];
  real?: number;
  live?: number;
  mesh: Array<[number, number, number?]>;
  rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
  emotion?: Array<{ score: number; emotion: string }>;
}
interface HumanInstance {
  load(): Promise<void>;
  detect(input: unknown, config?: unknown): Promise<{ face: HumanFace[] } & Record<string, unknown>>;
  tf: { tensor4d(values: Int32Array, shape: [number, number, number, number], dtype: "float32"): { dispose(): void }; getBackend(): string };
}

const require = createRequire(import.meta.url);
// human's exports map hides package.json and the wasm build: locate the package from its "node" entry point.
const HUMAN_DIR = resolve(dirname(require.resolve("@vladmandic/human")), "..");
// The wasm binaries sit beside the backend's node entry point (dist/).
const WASM_DIST = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));

export const HUMAN_MODEL_DIR = join(HUMAN_DIR, "models");

let fetchWrapped = false;
/** Serves file:// URLs (the models, the wasm binaries) from disk; any other URL goes to the original fetch. */
function serveLocalFiles(): void {
  if (fetchWrapped) return;
  fetchWrapped = true;
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("file://")) return original(input, init);
    const path = fileURLToPath(url);
    // Only the model and wasm directories are served: the wrapper is no general file reader.
    if (!path.startsWith(HUMAN_MODEL_DIR) && !path.startsWith(WASM_DIST)) return new Response(null, { status: 404 });
    const body = await readFile(path);
    return new Response(body, { status: 200, headers: { "content-type": url.endsWith(".json") ? "application/json" : "application/octet-stream" } });
  }) as typeof fetch;
}

const CONFIG = {
  backend: "wasm",
  wasmPath: pathToFileURL(WASM_DIST + "/").href,
  modelBasePath: pathToFileURL(HUMAN_MODEL_DIR + "/").href,
  debug: false,
  cacheSensitivity: 0, // every call is a separate image, never a video stream: no result caching between calls
  face: {
    enabled: true,
    // maxDetected 3: enough to tell "one face" from "several", without paying for crowds.
    detector: { rotation: true, maxDetected: 3, minConfidence: 0.5, skipFrames: 0, return: false },
    mesh: { enabled: true },
    iris: { enabled: true },
    description: { enabled: true, skipFrames: 0 },
    emotion: { enabled: true, skipFrames: 0 },
    antispoof: { enabled: true, skipFrames: 0 },
    liveness: { enabled: true, skipFrames: 0 },
  },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
  filter: { enabled: false },
};

let loading: Promise<{ human: HumanInstance; loadMs: number }> | undefined;
// One model in a process: detect() is not re-entrant on one instance, so calls are queued.
let queue: Promise<unknown> = Promise.resolve();

/** The shared, lazily loaded model; `loadMs` is how long the first load took. */
export function loadHuman(): Promise<{ human: HumanInstance; loadMs: number }> {
  loading ??= (async () => {
    const t0 = performance.now();
    serveLocalFiles();
    const { Human } = require(join(HUMAN_DIR, "dist", "human.node-wasm.js")) as { Human: new (config: unknown) => HumanInstance };
    const human = new Human(CONFIG);
    await human.load();
    return { human, loadMs: performance.now() - t0 };
  })();
  loading.catch(() => (loading = undefined));
  return loading;
}

/**
 * "match": detector, mesh and embedding only (a 1:1 comparison needs nothing else); "full": also emotion,
 * eyes (iris), anti-spoof and liveness, for the liveness frames. human merges a call's config into its own
 * for good, so every call states every switch.
 */
export type FaceModelMode = "match" | "full";
const modeConfig = (mode: FaceModelMode) => {
  const on = mode === "full";
  return { face: { iris: { enabled: on }, emotion: { enabled: on }, antispoof: { enabled: on }, liveness: { enabled: on } } };
};

/** Runs the face models over an RGB raster (already decoded and size-checked by the caller). */
export async function detectFaces(rgb: Uint8Array, width: number, height: number, mode: FaceModelMode = "full"): Promise<HumanFace[]> {
  const { human } = await loadHuman();
  const run = queue.then(async () => {
    const tensor = human.tf.tensor4d(Int32Array.from(rgb), [1, height, width, 3], "float32");
    try {
      return (await human.detect(tensor, modeConfig(mode))).face;
    } finally {
      tensor.dispose();
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
