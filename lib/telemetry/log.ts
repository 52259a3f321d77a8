// pino for Node processes: JSON lines with request id / job id / worker id fields.
// Secrets are redacted by path as a second line of defence; the first is never passing
// them to a logger at all (inputs are logged by size, never by content).
import pino from 'pino';
import type { Logger } from './port.ts';

export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { service: 'ai-service', ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          '*.authorization',
          'apiKey',
          '*.apiKey',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  ) as unknown as Logger;
}
