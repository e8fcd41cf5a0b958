/**
 * The browser's side of the relay: reading the tutor's server-sent events however the
 * network cut them, and turning the contract's error answers into sentences.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  SseParser,
  TutorClient,
  TutorEvent,
  TutorRequestError,
  readEvents,
  requestError
} from '../api';

const sse = (event: object) => `data: ${JSON.stringify(event)}\n\n`;

/** A response whose body arrives in the given pieces, as a browser's stream reader gives it. */
function streamedResponse(pieces: string[]): Response {
  const encoder = new TextEncoder();
  const chunks = pieces.map(piece => encoder.encode(piece));
  return {
    body: {
      getReader: () => ({
        read: async () =>
          chunks.length
            ? { done: false, value: chunks.shift() }
            : { done: true, value: undefined }
      })
    }
  } as unknown as Response;
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): Response {
  return {
    status,
    ok: status < 400,
    headers: { get: (name: string) => headers[name] ?? null },
    json: async () => {
      if (typeof body === 'string') {
        throw new SyntaxError('not JSON');
      }
      return body;
    }
  } as unknown as Response;
}

describe('SseParser', () => {
  it('gives an event only once its blank line has arrived', () => {
    const parser = new SseParser();
    const whole = sse({ type: 'delta', text: 'Hello' });
    expect(parser.feed(whole.slice(0, 10))).toEqual([]);
    expect(parser.feed(whole.slice(10))).toEqual([
      { type: 'delta', text: 'Hello' }
    ]);
  });

  it('reads several events from one chunk, with CRLF line ends too', () => {
    const parser = new SseParser();
    const text =
      sse({ type: 'notice', text: 'Trimmed' }).replace(/\n/g, '\r\n') +
      sse({ type: 'done', offline: true });
    expect(parser.feed(text).map(event => event.type)).toEqual([
      'notice',
      'done'
    ]);
  });

  it('skips comments, keep-alives and data that is not an event', () => {
    const parser = new SseParser();
    const text = ': keep-alive\n\n' + 'data: not json\n\n' + 'data: [1]\n\n';
    expect(parser.feed(text)).toEqual([]);
  });
});

describe('readEvents', () => {
  it('hands over each event as the stream delivers it, split anywhere', async () => {
    const body =
      sse({ type: 'delta', text: 'Look at ' }) +
      sse({ type: 'delta', text: 'line 2.' }) +
      sse({ type: 'done', exchange_id: 3 });
    const seen: TutorEvent[] = [];
    await readEvents(
      streamedResponse([body.slice(0, 7), body.slice(7, 40), body.slice(40)]),
      event => seen.push(event)
    );
    expect(seen).toEqual([
      { type: 'delta', text: 'Look at ' },
      { type: 'delta', text: 'line 2.' },
      { type: 'done', exchange_id: 3 }
    ]);
  });

  it('ends a stream that stops without done or error with an error', async () => {
    const seen: TutorEvent[] = [];
    await readEvents(
      streamedResponse([sse({ type: 'delta', text: 'Partial' })]),
      event => seen.push(event)
    );
    expect(seen.map(event => event.type)).toEqual(['delta', 'error']);
    expect((seen[1] as { message: string }).message).toMatch(/cut off/);
  });
});

describe('requestError', () => {
  it("keeps the tutor's code, message and Retry-After", async () => {
    const error = await requestError(
      jsonResponse(
        429,
        { error: 'quota', message: 'You used your 100 questions today.' },
        { 'Retry-After': '3600' }
      )
    );
    expect(error).toBeInstanceOf(TutorRequestError);
    expect([error.status, error.code, error.message, error.retryAfter]).toEqual(
      [429, 'quota', 'You used your 100 questions today.', '3600']
    );
  });

  it('says what failed when the answer is not the contract JSON', async () => {
    const error = await requestError(jsonResponse(504, '<html>'));
    expect(error.code).toBe('http_error');
    expect(error.message).toContain('HTTP 504');
  });
});

describe('TutorClient.status', () => {
  it('asks about the notebook by its ids, comma-separated', async () => {
    const asked: string[] = [];
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://lab.test/user/grace/',
      Request: class {
        headers = new Map<string, string>([]);
        constructor(readonly url: string) {}
      } as unknown as typeof Request,
      fetch: (async (request: { url: string }) => {
        asked.push(request.url);
        return jsonResponse(200, {
          policy: 'off',
          offline: false,
          model: null
        });
      }) as unknown as typeof fetch
    });
    const status = await new TutorClient(settings).status('python-101', null, {
      cell_ids: ['ps3-01', 'ps3-02'],
      grade_ids: ['ps3-instructions']
    });
    expect(status.policy).toBe('off');
    const url = new URL(asked[0]);
    expect(url.pathname).toBe('/user/grace/pls-tutor/status');
    expect(url.searchParams.get('course')).toBe('python-101');
    expect(url.searchParams.get('assignment')).toBe('');
    expect(url.searchParams.get('cell_ids')).toBe('ps3-01,ps3-02');
    expect(url.searchParams.get('grade_ids')).toBe('ps3-instructions');
  });
});
