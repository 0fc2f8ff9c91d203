/** Fault injection for reliability tests and demos: deterministic for a seed, off by default. */
export interface FaultConfig {
  /** Share of matching requests answered 429 Too Many Requests (0..1). */
  rate429?: number;
  /** Retry-After seconds sent with injected 429 and 503 responses (default 1). */
  retryAfterSeconds?: number;
  /** Share of matching requests answered 503 Service Unavailable (0..1). */
  rate503?: number;
  /** Latency added before every matching request, in milliseconds. */
  latencyMs?: number;
  /** Access tokens stop working after this many seconds, although expires_in advertises the normal lifetime. */
  tokenLifetimeSeconds?: number;
  /** Share of bulk NDJSON file downloads cut off mid-line (0..1). */
  truncateNdjsonRate?: number;
  /** Seed of the pseudo-random sequence (default 1). */
  seed?: number;
  /** Path prefixes the request faults apply to (default: the FHIR base and bulk file paths). */
  paths?: string[];
}

export type FaultDecision =
  | { kind: "none"; latencyMs: number }
  | { kind: "429" | "503"; latencyMs: number; retryAfterSeconds: number };

/** mulberry32: a tiny seeded PRNG, enough for reproducible fault sequences. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private config: FaultConfig = {};
  private random: () => number = seededRandom(1);

  constructor(
    config: FaultConfig | undefined,
    private readonly defaultPaths: string[],
  ) {
    this.set(config ?? {});
  }

  set(config: FaultConfig): void {
    this.config = { ...config };
    this.random = seededRandom(config.seed ?? 1);
  }

  get(): FaultConfig {
    return { ...this.config };
  }

  appliesTo(pathname: string): boolean {
    const paths = this.config.paths ?? this.defaultPaths;
    return paths.some((prefix) => pathname.startsWith(prefix));
  }

  /** Decides the fault for one request; draws from the sequence only when a rate is set. */
  decide(pathname: string): FaultDecision {
    if (!this.appliesTo(pathname)) return { kind: "none", latencyMs: 0 };
    const latencyMs = Math.max(0, this.config.latencyMs ?? 0);
    const retryAfterSeconds = Math.max(0, this.config.retryAfterSeconds ?? 1);
    const rate429 = clampRate(this.config.rate429);
    const rate503 = clampRate(this.config.rate503);
    if (rate429 > 0 || rate503 > 0) {
      const draw = this.random();
      if (draw < rate429) return { kind: "429", latencyMs, retryAfterSeconds };
      if (draw < rate429 + rate503) return { kind: "503", latencyMs, retryAfterSeconds };
    }
    return { kind: "none", latencyMs };
  }

  /** Whether this NDJSON download is truncated. */
  truncateNdjson(): boolean {
    const rate = clampRate(this.config.truncateNdjsonRate);
    return rate > 0 && this.random() < rate;
  }

  /** Effective token lifetime under the "expire early" fault, or undefined when off. */
  earlyExpirySeconds(): number | undefined {
    const seconds = this.config.tokenLifetimeSeconds;
    return seconds !== undefined && seconds >= 0 ? seconds : undefined;
  }
}

function clampRate(rate: number | undefined): number {
  if (rate === undefined || !Number.isFinite(rate)) return 0;
  return Math.min(1, Math.max(0, rate));
}

/** Cuts NDJSON text in the middle of a line so the last record is not valid JSON. */
export function truncateNdjsonText(text: string): string {
  if (text.length < 2) return "";
  const lastLineStart = text.lastIndexOf("\n", text.length - 2) + 1;
  const lastLineLength = text.length - lastLineStart;
  return text.slice(0, lastLineStart + Math.max(1, Math.floor(lastLineLength / 2)));
}
