import { type Logger, LogLevel } from '@slack/bolt';

/** A Slack SDK logger that drops everything, for tests whose failures are asserted, not logged. */
export const silentSlackLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};
