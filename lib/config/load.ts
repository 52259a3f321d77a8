// Turns an environment (process.env, a Workers `env`, a test's object) into a Config,
// or throws ConfigError naming every bad variable and what it expected.
import { type Config, configSchema, configShape } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; expected: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable}: ${p.expected}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(configShape)) {
    const v = env[key];
    if (typeof v === 'string') picked[key] = v;
  }
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const variable = String(i.path[0] ?? '?');
        // zod says only "Invalid input" for an enum: name the allowed values (and the value
        // given: enums are never secrets).
        const expected =
          i.code === 'invalid_value' && i.values.length > 0
            ? `one of ${i.values.map(String).join(', ')} (got "${picked[variable] ?? ''}")`
            : i.message;
        return { variable, expected };
      }),
    );
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production' && !config.DATABASE_URL) {
    throw new ConfigError([{ variable: 'DATABASE_URL', expected: 'required when NODE_ENV=production' }]);
  }
  return config;
}

/** The worker's identity: WORKER_ID, else the host name the adapter passes in. */
export function workerId(config: Config, hostname: string): string {
  return config.WORKER_ID ?? hostname;
}

/** Audio LLM keys fall back to AUDIO_LLM_API_KEY, then LLM_API_KEY (specification). */
export function audioApiKey(config: Config, provider: 'qwen2-audio' | 'voxtral-small'): string | undefined {
  const own = provider === 'qwen2-audio' ? config.QWEN_AUDIO_API_KEY : config.VOXTRAL_API_KEY;
  return own ?? config.AUDIO_LLM_API_KEY ?? config.LLM_API_KEY;
}
