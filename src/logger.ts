/**
 * A small structured logger (one JSON line per entry, as CloudWatch Logs Insights likes) that redacts
 * secrets by key before anything is written: task tokens, Slack tokens and signing secrets must never
 * reach a log.
 */
const SECRET_KEY = /token|secret|password|signature|authorization|credential/i;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Replaces the values of secret-looking keys, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) ? '[redacted]' : redact(item, depth + 1),
    ]),
  );
}

export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** A logger writing JSON lines through `write` (stdout by default). */
export function createLogger(
  service: string,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const log = (level: LogLevel, message: string, details?: Record<string, unknown>) => {
    write(
      JSON.stringify({
        level,
        time: new Date().toISOString(),
        service,
        message,
        ...(redact(details ?? {}) as object),
      }),
    );
  };
  return {
    debug: (m, d) => log('debug', m, d),
    info: (m, d) => log('info', m, d),
    warn: (m, d) => log('warn', m, d),
    error: (m, d) => log('error', m, d),
  };
}
