import { seedAccount } from '../../local/console/samples';
import { type ConsoleOptions, type ConsoleServer, startConsole } from '../../local/console/server';
import { type Sandbox, startSandbox } from '../../local/sandbox';

/** A sandbox with the console's seeded account and the console itself on a free loopback port. */
export async function startSandboxConsole(
  options: ConsoleOptions = {},
): Promise<{ sandbox: Sandbox; web: ConsoleServer }> {
  // Slack's limits stay on, sped up: these tests are about the console, not about waiting for Slack.
  const sandbox = await startSandbox({ slackRateLimits: { scale: 20 } });
  // The Slack delivery worker on a short schedule, one run at a time, as `npm start` runs it.
  let running = true;
  const worker = (async () => {
    while (running) {
      await sandbox.recoverSlack().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const close = sandbox.close.bind(sandbox);
  sandbox.close = async () => {
    running = false;
    await worker;
    await close();
  };
  try {
    await seedAccount(sandbox);
    const web = await startConsole(sandbox, { port: 0, refreshSeconds: 0, ...options });
    return { sandbox, web };
  } catch (error) {
    await sandbox.close();
    throw error;
  }
}

/** Posts a form to the console as its own page would (same Origin). */
export function postConsoleForm(
  web: ConsoleServer,
  path: string,
  fields: Record<string, string>,
): Promise<Response> {
  return fetch(`${web.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

/** Asks the console's JSON endpoint to make a change; returns what it started. */
export async function simulateViaApi(
  web: ConsoleServer,
  body: Record<string, unknown>,
): Promise<{ eventName: string; approvalId: string; executionArn: string; status: string }[]> {
  const response = await fetch(`${web.url}/api/simulate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { changes?: never[]; error?: string };
  if (response.status !== 200 || !answer.changes) throw new Error(`simulate failed: ${answer.error}`);
  return answer.changes;
}
