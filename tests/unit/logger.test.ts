import { createLogger, redact } from '../../src/logger';

describe('logger', () => {
  test('secret-looking keys are redacted at any depth', () => {
    // Prepare
    const lines: string[] = [];
    const logger = createLogger('test', (line) => lines.push(line));
    // Act
    logger.info('sending', {
      approvalId: 'a1',
      taskToken: 'AAAA-secret',
      nested: { botToken: 'xoxb-1', list: [{ signingSecret: 's' }] },
    });
    // Assess
    const [line] = lines;
    expect(line).not.toMatch(/AAAA-secret|xoxb-1|"s"/);
    expect(JSON.parse(line as string)).toMatchObject({
      level: 'info',
      message: 'sending',
      approvalId: 'a1',
      taskToken: '[redacted]',
    });
  });

  test('errors keep name and message', () => {
    expect(redact({ error: new TypeError('boom') })).toEqual({
      error: { name: 'TypeError', message: 'boom' },
    });
  });
});
