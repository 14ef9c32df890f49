/**
 * Live updates for the console's list views, without inline script or external assets: a small same-origin
 * script (served as `/console.js`, allowed by `script-src 'self'`) listens on a Server-Sent Events stream
 * (`/events?view=…`) that only says "this view changed, its version is now V", then fetches the view's
 * server-rendered fragment (`/fragment/…`) and swaps it in. The stream carries no page content, so nothing it
 * says could leak more than the page itself. Without JavaScript the page keeps its meta refresh (inside
 * `<noscript>`, so it does not also reload pages the script keeps current).
 *
 * The server side renders each watched view on one shared timer (not per connection), only while someone
 * watches it, and compares a hash of the fragment: any change in the sandbox, whoever made it, shows up.
 * Streams are capped, sent a heartbeat comment, and ended on close so the console stops at once.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';

/** The views that update live. */
export const LIVE_VIEWS = ['slack', 'mail', 'iam', 'executions'] as const;
export type LiveView = (typeof LIVE_VIEWS)[number];

/** Whether a path segment names a live view. */
export const isLiveView = (value: string): value is LiveView =>
  (LIVE_VIEWS as readonly string[]).includes(value);

export interface LiveOptions {
  /** Most concurrent event streams; more are answered 503 (the page then falls back to reloading). Default 32. */
  maxStreams?: number;
  /** Milliseconds between checks of the watched views. Default 500. */
  pollMs?: number;
  /** Milliseconds between heartbeat comments on each stream. Default 15000. */
  heartbeatMs?: number;
}

export interface LiveHub {
  /** Serves one event stream for the view (the caller has checked Host and origin). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, view: LiveView): void;
  /** The number of open streams. */
  readonly streams: number;
  /** Ends every stream and stops the timers. */
  close(): void;
}

/** A short, stable version of a fragment: what the page and the stream compare. */
export function versionOf(html: string): string {
  return createHash('sha256').update(html).digest('base64url').slice(0, 22);
}

interface Stream {
  res: http.ServerResponse;
  view: LiveView;
  sent: string;
}

/** Starts the hub; `render` gives a view's current fragment. */
export function createLiveHub(render: (view: LiveView) => string, options: LiveOptions = {}): LiveHub {
  const maxStreams = options.maxStreams ?? 32;
  const pollMs = options.pollMs ?? 500;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const streams = new Set<Stream>();
  let poll: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;

  const write = (stream: Stream, text: string) => {
    if (!stream.res.writableEnded) stream.res.write(text);
  };

  const tick = () => {
    const versions = new Map<LiveView, string>();
    for (const stream of streams) {
      let version = versions.get(stream.view);
      if (version === undefined) {
        try {
          version = versionOf(render(stream.view));
        } catch (error) {
          console.error('console: live view failed:', (error as Error)?.name);
          continue;
        }
        versions.set(stream.view, version);
      }
      if (version !== stream.sent) {
        stream.sent = version;
        write(stream, `event: change\ndata: ${version}\n\n`);
      }
    }
  };

  const startTimers = () => {
    poll ??= setInterval(tick, pollMs);
    heartbeat ??= setInterval(() => {
      for (const stream of streams) write(stream, ': heartbeat\n\n');
    }, heartbeatMs);
  };
  const stopTimersIfIdle = () => {
    if (streams.size > 0) return;
    clearInterval(poll);
    clearInterval(heartbeat);
    poll = undefined;
    heartbeat = undefined;
  };

  return {
    serve(req, res, view) {
      if (closed || streams.size >= maxStreams) {
        res.writeHead(503, {
          'content-type': 'text/plain',
          'retry-after': '5',
          'cache-control': 'no-store',
        });
        res.end('too many live views open\n');
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      // The current version at once: the page compares it with the one it was rendered with, so a change
      // between rendering the page and opening the stream is not missed.
      const stream: Stream = { res, view, sent: '' };
      try {
        stream.sent = versionOf(render(view));
      } catch (error) {
        console.error('console: live view failed:', (error as Error)?.name);
      }
      res.write(`retry: 2000\nevent: change\ndata: ${stream.sent}\n\n`);
      streams.add(stream);
      startTimers();
      const drop = () => {
        streams.delete(stream);
        stopTimersIfIdle();
      };
      req.once('close', drop);
      res.once('close', drop);
    },
    get streams() {
      return streams.size;
    },
    close() {
      closed = true;
      for (const stream of streams) stream.res.end();
      streams.clear();
      stopTimersIfIdle();
    },
  };
}

/**
 * The console's one script. Plain ES2017, no dependencies; it only reads (GET) and swaps in fragments the
 * server rendered and escaped. It keeps what the user chose in the click forms (the "Click as" user) and
 * which details were open, so an update does not change who a click is sent as.
 */
export const CONSOLE_SCRIPT = `'use strict';
(function () {
  var live = document.getElementById('live');
  if (!live) return;
  var view = live.getAttribute('data-view');
  var version = live.getAttribute('data-version');
  var refresh = Number(live.getAttribute('data-refresh')) || 0;
  function fallback() {
    live.setAttribute('data-state', 'reload');
    if (refresh > 0) setTimeout(function () { location.reload(); }, refresh * 1000);
  }
  if (typeof EventSource !== 'function' || typeof fetch !== 'function' || typeof DOMParser !== 'function') {
    fallback();
    return;
  }
  function remember() {
    var chosen = {};
    live.querySelectorAll('form[data-key] select').forEach(function (select) {
      chosen[select.form.getAttribute('data-key') + '/' + select.name] = select.value;
    });
    var open = {};
    live.querySelectorAll('details[data-key]').forEach(function (d) {
      open[d.getAttribute('data-key')] = d.open;
    });
    return { chosen: chosen, open: open };
  }
  function restore(state) {
    live.querySelectorAll('form[data-key] select').forEach(function (select) {
      var value = state.chosen[select.form.getAttribute('data-key') + '/' + select.name];
      if (value !== undefined && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
        select.value = value;
      }
    });
    live.querySelectorAll('details[data-key]').forEach(function (d) {
      var open = state.open[d.getAttribute('data-key')];
      if (open !== undefined) d.open = open;
    });
  }
  var busy = false;
  var again = false;
  function update() {
    if (busy) { again = true; return; }
    busy = true;
    fetch('/fragment/' + encodeURIComponent(view), { cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        var next = response.headers.get('x-fragment-version');
        return response.text().then(function (html) {
          var state = remember();
          var parsed = new DOMParser().parseFromString('<div>' + html + '</div>', 'text/html');
          var fresh = parsed.body.firstElementChild;
          live.replaceChildren.apply(live, Array.prototype.slice.call(fresh ? fresh.childNodes : []));
          restore(state);
          if (next) { version = next; live.setAttribute('data-version', next); }
          live.setAttribute('data-updates', String(Number(live.getAttribute('data-updates') || 0) + 1));
        });
      })
      .catch(function () { /* the next change event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; update(); }
      });
  }
  var source = new EventSource('/events?view=' + encodeURIComponent(view));
  source.addEventListener('open', function () { live.setAttribute('data-state', 'live'); });
  source.addEventListener('change', function (event) {
    if (event.data && event.data !== version) update();
  });
  source.addEventListener('error', function () {
    if (source.readyState === EventSource.CLOSED) fallback();
    else live.setAttribute('data-state', 'reconnecting');
  });
})();
`;
