// Configuration: every spec variable with its default, durations, and start-up errors
// that name the variable without echoing secrets.
import { describe, expect, it } from 'vitest';
import { audioApiKey, ConfigError, loadConfig, parseDuration } from '../../lib/config/index.ts';
import { resolveDbTarget } from '../../lib/db/open.ts';

describe('config', () => {
  it('applies the specification defaults', () => {
    expect(loadConfig({})).toMatchObject({
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: 8080,
      MIGRATE_ON_START: true,
      LLM_MODEL: 'qwen2.5-14b',
      LLM_TIMEOUT: 300_000,
      TRANSCRIPTION_PROVIDERS: ['whisperx'],
      QWEN_AUDIO_MODEL: 'Qwen/Qwen2-Audio-7B-Instruct',
      VOXTRAL_MODEL: 'mistralai/Voxtral-Small-24B-2507',
      AUDIO_LLM_MAX_TOKENS: 4096,
      WORKER_HTTP_HOST: '0.0.0.0',
      WORKER_HTTP_PORT: 8081,
      WORKER_POLL_INTERVAL: 2000,
      WORKER_CLAIM_LIMIT: 4,
      WORKER_LEASE_TIMEOUT: 900_000,
    });
  });

  it('parses durations; a bare number is seconds, as text or as a number', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseDuration(1800)).toBe(1_800_000);
    expect(parseDuration(0.25)).toBe(250);
    for (const bad of ['', '2x', '-1s', 's', '1 h', 'NaN', -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(parseDuration(bad), String(bad)).toBeUndefined();
  });

  it('duration variables: a bare number is seconds (WORKER_LEASE_TIMEOUT=15 is 15 s)', () => {
    const c = loadConfig({ WORKER_LEASE_TIMEOUT: '15', WORKER_POLL_INTERVAL: '2', JOB_RETENTION: '86400' });
    expect(c.WORKER_LEASE_TIMEOUT).toBe(15_000);
    expect(c.WORKER_POLL_INTERVAL).toBe(2000);
    expect(c.JOB_RETENTION).toBe(86_400_000);
    expect(loadConfig({ WORKER_LEASE_TIMEOUT: '5s' }).WORKER_LEASE_TIMEOUT).toBe(5000);
  });

  it('a lease under 5 s stops start-up with a message saying why', () => {
    for (const short of ['4', '4999ms', '900ms', '2s']) {
      let err: ConfigError | undefined;
      try {
        loadConfig({ WORKER_LEASE_TIMEOUT: short });
      } catch (e) {
        err = e as ConfigError;
      }
      expect(err, short).toBeInstanceOf(ConfigError);
      expect(err!.problems).toEqual([
        { variable: 'WORKER_LEASE_TIMEOUT', expected: expect.stringContaining('must be at least 5s') },
      ]);
      expect(err!.message).toContain('runs twice');
    }
  });

  it('names every bad variable and what it expected', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({
        WORKER_POLL_INTERVAL: 'soon',
        HTTP_PORT: '99999',
        MIGRATE_ON_START: 'maybe',
        TRANSCRIPTION_PROVIDERS: 'whisperx,gpt',
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems.map((p) => p.variable).sort()).toEqual([
      'HTTP_PORT',
      'MIGRATE_ON_START',
      'TRANSCRIPTION_PROVIDERS',
      'WORKER_POLL_INTERVAL',
    ]);
    expect(err!.message).toContain('WORKER_POLL_INTERVAL: expected a duration');
    expect(err!.message).toContain('unknown: gpt');
  });

  it('never echoes a URL value, which may carry credentials', () => {
    try {
      loadConfig({ LLM_BASE_URL: 'ftp://admin:hunter2@llm' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('LLM_BASE_URL');
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('requires DATABASE_URL in production; otherwise unset means embedded PGlite', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL/);
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y' }).DATABASE_URL).toBe(
      'postgres://x/y',
    );
    expect(resolveDbTarget(undefined)).toEqual({ driver: 'pglite', dataDir: '.data/pglite' });
    expect(resolveDbTarget('pglite:memory')).toEqual({ driver: 'pglite', dataDir: undefined });
    expect(resolveDbTarget('postgres://h/db')).toEqual({ driver: 'pg', url: 'postgres://h/db' });
    expect(resolveDbTarget('postgres://h/db?driver=neon').driver).toBe('neon');
    expect(() => resolveDbTarget('mysql://h/db')).toThrow();
  });

  it('audio LLM keys fall back to AUDIO_LLM_API_KEY, then LLM_API_KEY', () => {
    expect(audioApiKey(loadConfig({ LLM_API_KEY: 'l' }), 'qwen2-audio')).toBe('l');
    expect(audioApiKey(loadConfig({ LLM_API_KEY: 'l', AUDIO_LLM_API_KEY: 'a' }), 'voxtral-small')).toBe('a');
    expect(audioApiKey(loadConfig({ AUDIO_LLM_API_KEY: 'a', VOXTRAL_API_KEY: 'v' }), 'voxtral-small')).toBe(
      'v',
    );
  });
});
