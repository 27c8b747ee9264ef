import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Structured JSON logs, one object a line, with ISO times. Secrets never reach a log line. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'herald' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.authorization', 'adminKey', 'secretKey'], censor: '[redacted]' },
    },
    destination,
  );
}
