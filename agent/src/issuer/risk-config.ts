import { AgentError } from "../errors.js";
import { DEFAULT_RISK_LIMITS, type RiskLimits, type Window } from "./risk.js";

/**
 * Risk windows and limits from the environment; each window is `max` events within `windowSeconds`
 * (sliding: an event older than the window no longer counts). Unset values keep DEFAULT_RISK_LIMITS.
 */
export function riskLimitsFromEnv(env: NodeJS.ProcessEnv): RiskLimits {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new AgentError("ERR_CONFIG", `${name} must be a number of 0 or more`);
    return n;
  };
  const window = (prefix: string, maxName: string, d: Window): Window => ({ max: num(maxName, d.max), windowSeconds: num(`${prefix}_WINDOW_SECONDS`, d.windowSeconds) });
  const d = DEFAULT_RISK_LIMITS;
  return {
    perDevice: window("RISK_DEVICE", "RISK_MAX_PER_DEVICE", d.perDevice),
    perAddress: window("RISK_ADDRESS", "RISK_MAX_PER_ADDRESS", d.perAddress),
    perPerson: window("RISK_ID_NUMBER", "RISK_MAX_PER_ID_NUMBER", d.perPerson),
    perRegion: window("RISK_REGION", "RISK_MAX_PER_REGION", d.perRegion),
    deviceFailures: window("RISK_DEVICE_FAILURE", "RISK_MAX_DEVICE_FAILURES", d.deviceFailures),
    trust: {
      minDeviceSuccesses: num("TRUST_MIN_DEVICE_SUCCESSES", d.trust.minDeviceSuccesses),
      windowSeconds: num("TRUST_WINDOW_SECONDS", d.trust.windowSeconds),
      minAccountAgeSeconds: num("TRUST_MIN_ACCOUNT_AGE_SECONDS", d.trust.minAccountAgeSeconds),
    },
  };
}
