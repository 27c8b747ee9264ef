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
      serializers: {
        // URLs can carry signatures (the feedback container URL's `sig`): they stay out of the log.
        req: (req: { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: req.url?.replace(/([?&](?:sig|se)=)[^&]*/g, '$1[redacted]'),
          host: req.host ?? req.hostname,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
