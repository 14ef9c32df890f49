/**
 * The console's live updates over real HTTP: the event stream says a view changed (and nothing more), the
 * fragment endpoint gives the view's new content, both refuse what the form posts refuse (another Host, another
 * site), the streams are capped and kept alive, and closing the console ends them.
 */
import http from 'node:http';
import type { ConsoleServer } from '../../local/console/server';
import { type Sandbox, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET } from '../../local/sandbox';
import { eventually, waitForPending } from '../support/approvals';
import { simulateViaApi, startSandboxConsole } from '../support/console';

jest.setTimeout(60_000);

let sandbox: Sandbox | undefined;
let web: ConsoleServer | undefined;
const open: http.ClientRequest[] = [];

afterEach(async () => {
  for (const request of open.splice(0)) request.destroy();
  await web?.close();
  web = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

async function start(live: Parameters<typeof startSandboxConsole>[0] = {}) {
  ({ sandbox, web } = await startSandboxConsole(live));
  return { s: sandbox, w: web };
}

interface Stream {
  status: number;
  contentType: string;
  /** Everything received so far. */
  text: () => string;
  /** The `change` events' data, in order. */
  versions: () => string[];
  ended: Promise<void>;
}

/** Opens an event stream with the headers of our choosing (fetch may not set Host). */
function openStream(w: ConsoleServer, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${w.url}${path}`, { headers }, (response) => {
      let text = '';
      const ended = new Promise<void>((done) => {
        response.once('end', done);
        response.once('close', done);
      });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      resolve({
        status: response.statusCode ?? 0,
        contentType: String(response.headers['content-type']),
        text: () => text,
        versions: () => [...text.matchAll(/event: change\ndata: (.*)\n\n/g)].map((m) => m[1] ?? ''),
        ended,
      });
    });
    open.push(request);
    request.on('error', reject);
  });
}

const dataVersionOf = (html: string) => /id="live" data-view="[a-z]+" data-version="([^"]+)"/.exec(html)?.[1];

describe('console live updates', () => {
  test('the stream says when the Slack view changed; the fragment has the new message; neither carries secrets', async () => {
    // Prepare
    const { s, w } = await start();
    const before = await (await fetch(`${w.url}/slack`)).text();
    const stream = await openStream(w, '/events?view=slack');
    await eventually(() => stream.versions().length >= 1);
    // Act
    const [change] = await simulateViaApi(w, { sample: 'risky-create-policy' });
    const [record] = await waitForPending(s);
    await eventually(() => stream.versions().length >= 2);
    const fragment = await fetch(`${w.url}/fragment/slack`);
    const html = await fragment.text();
    // Assess
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const [first, ...later] = stream.versions();
    expect(first).toBe(dataVersionOf(before));
    expect(later.at(-1)).not.toBe(first);
    expect(fragment.status).toBe(200);
    expect(fragment.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(html).toContain('Approval needed');
    expect(html).not.toMatch(/<html|<script/);
    // The workflow may still be changing the view (a thread line, a redraw), so a fragment's version is
    // compared with the page's read just before and just after it, in a round where those two agree.
    const read = await eventually(async () => {
      const pageBefore = dataVersionOf(await (await fetch(`${w.url}/slack`)).text());
      const piece = await fetch(`${w.url}/fragment/slack`);
      await piece.text();
      const pageAfter = dataVersionOf(await (await fetch(`${w.url}/slack`)).text());
      return (
        pageBefore === pageAfter && { page: pageAfter, fragment: piece.headers.get('x-fragment-version') }
      );
    });
    expect(read.page).toBeTruthy();
    expect(read.fragment).toBe(read.page);
    // The stream says only "changed, version V": no content, no token, no secret, no link.
    expect(stream.text()).toMatch(
      /^(retry: \d+\n)?(event: change\ndata: [A-Za-z0-9_-]*\n\n|: heartbeat\n\n)*$/,
    );
    for (const secret of [record?.taskToken, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, s.decisionPage.url]) {
      expect(secret).toBeTruthy();
      expect(stream.text()).not.toContain(secret);
      expect(html).not.toContain(secret);
    }
    expect(change?.approvalId).toBe(record?.approvalId);
  });

  test('each list view has its own stream and fragment, which follow what the workflow does', async () => {
    // Prepare
    const { s, w } = await start();
    const streams = await Promise.all(
      ['mail', 'iam', 'executions'].map((view) => openStream(w, `/events?view=${view}`)),
    );
    await eventually(() => streams.every((st) => st.versions().length >= 1));
    // Act
    await simulateViaApi(w, { sample: 'risky-create-policy' });
    await waitForPending(s);
    await eventually(() => streams.every((st) => st.versions().length >= 2));
    const [mail, iam, executions] = await Promise.all(
      ['mail', 'iam', 'executions'].map(async (view) => (await fetch(`${w.url}/fragment/${view}`)).text()),
    );
    // Assess
    expect(mail).toMatch(/approval needed/i);
    expect(iam).toContain('QUARANTINED by PolicyGate');
    expect(executions).toContain('RequestApproval');
  });

  test('another Host, another site, an unknown view and a non-GET are refused', async () => {
    // Prepare
    const { w } = await start();
    const port = new URL(w.url).port;
    // Act
    const rebound = await openStream(w, '/events?view=slack', { host: `evil.example:${port}` });
    const reboundFragment = await openStream(w, '/fragment/iam', { host: `evil.example:${port}` });
    const otherOrigin = await openStream(w, '/events?view=slack', { origin: 'http://evil.example' });
    const otherPort = await openStream(w, '/fragment/slack', { origin: 'http://127.0.0.1:1' });
    const crossSite = await openStream(w, '/fragment/mail', { 'sec-fetch-site': 'cross-site' });
    const sameSite = await openStream(w, '/events?view=iam', { 'sec-fetch-site': 'same-site' });
    const ownPage = await openStream(w, '/fragment/mail', { origin: w.url, 'sec-fetch-site': 'same-origin' });
    const unknown = await openStream(w, '/events?view=secrets');
    const unknownFragment = await fetch(`${w.url}/fragment/secrets`);
    const posted = await fetch(`${w.url}/events?view=slack`, { method: 'POST', headers: { origin: w.url } });
    // Assess
    expect(rebound.status).toBe(421);
    expect(reboundFragment.status).toBe(421);
    expect(otherOrigin.status).toBe(403);
    expect(otherPort.status).toBe(403);
    expect(crossSite.status).toBe(403);
    expect(sameSite.status).toBe(403);
    expect(ownPage.status).toBe(200);
    expect(unknown.status).toBe(400);
    expect(unknownFragment.status).toBe(404);
    expect(posted.status).toBe(404);
  });

  test('streams are capped, sent heartbeats, and a closed one frees its place', async () => {
    // Prepare
    const { w } = await start({ live: { maxStreams: 2, heartbeatMs: 50 } });
    const first = await openStream(w, '/events?view=slack');
    await openStream(w, '/events?view=iam');
    // Act
    const third = await openStream(w, '/events?view=mail');
    await eventually(() => first.text().includes(': heartbeat\n\n'));
    open[0]?.destroy();
    await first.ended;
    const again = await eventually(async () => {
      const next = await openStream(w, '/events?view=mail');
      return next.status === 200 ? next : undefined;
    });
    // Assess
    expect(third.status).toBe(503);
    expect(again.status).toBe(200);
  });

  test('closing the console ends the open streams', async () => {
    // Prepare
    const { w } = await start();
    const streams = await Promise.all([
      openStream(w, '/events?view=slack'),
      openStream(w, '/events?view=executions'),
    ]);
    // Act
    await w.close();
    web = undefined;
    // Assess
    await expect(Promise.all(streams.map((st) => st.ended))).resolves.toBeDefined();
    await expect(fetch(`${w.url}/slack`)).rejects.toThrow();
  });

  test('the console script is served as JavaScript under the same strict CSP', async () => {
    // Prepare
    const { w } = await start();
    // Act
    const response = await fetch(`${w.url}/console.js`);
    const script = await response.text();
    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // It only reads: the state changes stay form posts with their origin check.
    expect(script).not.toMatch(/method\s*:|eval\(|new Function|innerHTML|document\.write/);
    expect(script).toContain("new EventSource('/events?view='");
  });
});
