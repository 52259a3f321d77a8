export { DURATION_HINT, parseDuration } from './duration.ts';
export { audioApiKey, ConfigError, loadConfig, workerId } from './load.ts';
export type { Config, ConfigKey, TranscriptionProviderName } from './schema.ts';
export { configShape, SECRET_KEYS, TRANSCRIPTION_PROVIDER_NAMES } from './schema.ts';
