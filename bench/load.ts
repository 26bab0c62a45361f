/**
 * The bench's own HTTP load generator and process meters. The generator counts completed answers and
 * measures every answer's latency itself (no 1 s sampling ticks, so the figure is not capped or rounded
 * by the generator): `clients` keep-alive connections each send the next pre-built body as soon as their
 * previous answer completed.
 */
import { Agent, request } from "node:http";
import { readFileSync } from "node:fs";

export interface LoadResult {
  completed: number;
  ok: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** First failure bodies (status and a few bytes), to say why when something failed. */
  failures: string[];
  /** Every answer's latency (ms), sorted. */
  latencies: number[];
}

/** Several replays taken as one: completions over the time spent replaying, percentiles over every answer. */
export function combine(results: LoadResult[]): LoadResult {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  return { completed: latencies.length, ok, failed: latencies.length - ok, seconds, perSecond: ok / seconds, p50: at(0.5), p99: at(0.99), failures: results.flatMap((r) => r.failures).slice(0, 3), latencies };
}

export async function replay(baseUrl: string, bodies: Array<{ path: string; body: string; contentType?: string }>, clients: number): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const payloads = bodies.map((b) => ({ path: b.path, body: Buffer.from(b.body), contentType: b.contentType ?? "application/json" }));
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  let ok = 0;
  const send = (p: { path: string; body: Buffer; contentType: string }) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ agent, host: url.hostname, port: url.port, method: "POST", path: p.path, headers: { "content-type": p.contentType, "content-length": p.body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(p.body);
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < payloads.length) {
        const p = payloads[next++]!;
        const t0 = process.hrtime.bigint();
        try {
          const r = await send(p);
          if (r.status >= 200 && r.status < 300) ok++;
          else if (failures.length < 3) failures.push(`${r.status} ${r.text.slice(0, 160)}`);
        } catch (error) {
          if (failures.length < 3) failures.push(String(error).slice(0, 160));
        }
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { completed: latencies.length, ok, failed: latencies.length - ok, seconds, perSecond: ok / seconds, p50: at(0.5), p99: at(0.99), failures, latencies };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat; after "comm) " they are at 11 and 12, in clock ticks (100/s).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Samples a process's peak resident memory (VmHWM) until stopped. */
export function peakRssSampler(pid: number): { stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* process gone */
    }
  };
  const timer = setInterval(sample, 200);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
