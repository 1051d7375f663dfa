import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs. Tokens, secrets and customer-supplied text never belong
 * in a log line; the redact list is a safety net for the fields that could
 * carry them by accident.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'retain' },
      redact: {
        paths: [
          'token',
          '*.token',
          'botToken',
          'appToken',
          'signingSecret',
          '*.signingSecret',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'req.headers.authorization',
          'text',
          '*.text',
          'body',
          '*.body',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(2),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
