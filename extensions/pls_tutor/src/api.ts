/**
 * The tutor as the browser sees it: the server extension's `/pls-tutor/*` routes, which relay
 * to the studio's tutor service with the server's own hub token (docs/tutor.md is the
 * contract). Nothing here polls: every request is one the learner asked for.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The three things a learner can ask for. */
export type TutorMode = 'explain' | 'hint' | 'chat';

/** An error output as nbformat stores it. */
export interface ITutorError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A notebook's ids: what the tutor places a question by (docs/tutor.md). */
export interface INotebookIdentity {
  cell_ids: string[];
  grade_ids: string[];
}

/** The body of `POST ask` (docs/tutor.md). */
export interface IAskRequest extends INotebookIdentity {
  mode: TutorMode;
  course: string | null;
  assignment: string | null;
  notebook: string | null;
  cell_id: string | null;
  cell_source: string | null;
  error: ITutorError | null;
  context_markdown: string | null;
  question: string | null;
}

/** One event of a streamed reply. */
export type TutorEvent =
  | { type: 'notice'; text: string }
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      exchange_id?: unknown;
      offline?: boolean;
      refused?: boolean;
    }
  | { type: 'error'; message: string };

/** `ask_class` of `GET status`: where "Ask the class" drafts a thread (docs/tutor.md). */
export interface IAskClass {
  /** The LMS's draft page of the board of the course the notebook belongs to. */
  url: string;
  /** The LMS page slug of the notebook's lesson or assignment, if the tutor placed it. */
  about: string | null;
}

/** `GET status`: what the panel shows before the learner asks. */
export interface ITutorStatus {
  policy: 'off' | 'hints-only' | 'full';
  /** Where "Ask the class" drafts a thread (absent from older tutors). */
  ask_class?: IAskClass | null;
  offline: boolean;
  model: string | null;
  quota?: { used: number; limit: number; resets_at?: string | null };
  rate?: { per_minute?: number };
  message?: string;
}

/** One logged exchange, from `GET history`. */
export interface IExchange {
  id: unknown;
  course: string;
  assignment: string | null;
  mode: TutorMode;
  cell_id: string | null;
  error_type: string | null;
  question: string | null;
  reply: string;
  offline: boolean;
  refused: boolean;
  created_at: string;
}

/**
 * A refusal or failure with the contract's `{"error", "message"}`: `message` is a sentence
 * for the learner, shown as it came.
 */
export class TutorRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: string | null = null
  ) {
    super(message);
    this.name = 'TutorRequestError';
  }
}

/** The calls the panel makes; an interface so tests can hand the panel a scripted tutor. */
export interface ITutorClient {
  status(
    course: string,
    assignment: string | null,
    identity?: INotebookIdentity
  ): Promise<ITutorStatus>;
  history(course: string): Promise<IExchange[]>;
  ask(
    request: IAskRequest,
    onEvent: (event: TutorEvent) => void,
    signal?: AbortSignal
  ): Promise<void>;
}

/**
 * Cuts server-sent events out of text however the network split it: an event counts only
 * once its blank line has arrived. Lines other than `data:` (comments, keep-alives) are
 * ignored, and so is data that is not a JSON object with a `type`.
 */
export class SseParser {
  private _pending = '';

  feed(text: string): TutorEvent[] {
    this._pending += text.replace(/\r\n/g, '\n');
    const events: TutorEvent[] = [];
    let end = this._pending.indexOf('\n\n');
    while (end !== -1) {
      const block = this._pending.slice(0, end);
      this._pending = this._pending.slice(end + 2);
      const event = parseBlock(block);
      if (event) {
        events.push(event);
      }
      end = this._pending.indexOf('\n\n');
    }
    return events;
  }

  /** What is left when the stream closes: a last event without its blank line. */
  flush(): TutorEvent[] {
    const rest = this._pending;
    this._pending = '';
    const event = rest.trim() ? parseBlock(rest) : null;
    return event ? [event] : [];
  }
}

function parseBlock(block: string): TutorEvent | null {
  const data = block
    .split('\n')
    .filter(line => line.startsWith('data:'))
    .map(line => line.slice(5).replace(/^ /, ''))
    .join('\n');
  if (!data) {
    return null;
  }
  try {
    const event = JSON.parse(data);
    return event && typeof event.type === 'string'
      ? (event as TutorEvent)
      : null;
  } catch {
    return null;
  }
}

/** The server extension's routes, called with the lab's own session (cookie + XSRF). */
export class TutorClient implements ITutorClient {
  constructor(
    private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  async status(
    course: string,
    assignment: string | null,
    identity?: INotebookIdentity
  ): Promise<ITutorStatus> {
    const query = URLExt.objectToQueryString({
      course,
      assignment: assignment ?? '',
      cell_ids: (identity?.cell_ids ?? []).join(','),
      grade_ids: (identity?.grade_ids ?? []).join(',')
    });
    return (await this._json(`status${query}`)) as ITutorStatus;
  }

  async history(course: string): Promise<IExchange[]> {
    const query = URLExt.objectToQueryString({ course });
    const answer = (await this._json(`history${query}`)) as {
      exchanges?: IExchange[];
    };
    return answer.exchanges ?? [];
  }

  async ask(
    request: IAskRequest,
    onEvent: (event: TutorEvent) => void,
    signal?: AbortSignal
  ): Promise<void> {
    const response = await ServerConnection.makeRequest(
      this._url('ask'),
      {
        method: 'POST',
        body: JSON.stringify(request),
        headers: { 'Content-Type': 'application/json' },
        signal
      },
      this._settings
    );
    if (!response.ok) {
      throw await requestError(response);
    }
    await readEvents(response, onEvent);
  }

  private _url(route: string): string {
    return URLExt.join(this._settings.baseUrl, 'pls-tutor', route);
  }

  private async _json(route: string): Promise<unknown> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this._url(route),
        { method: 'GET' },
        this._settings
      );
    } catch (reason) {
      throw new TutorRequestError(
        0,
        'server_unreachable',
        'Your JupyterLab server does not answer; check your connection.'
      );
    }
    if (!response.ok) {
      throw await requestError(response);
    }
    return response.json();
  }
}

/** The contract's error answer as an exception (or a plain one when the body is not it). */
export async function requestError(
  response: Response
): Promise<TutorRequestError> {
  let body: any = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retryAfter = response.headers.get('Retry-After');
  if (body && typeof body.message === 'string') {
    return new TutorRequestError(
      response.status,
      String(body.error ?? 'tutor_error'),
      body.message,
      retryAfter
    );
  }
  return new TutorRequestError(
    response.status,
    'http_error',
    `The tutor could not be asked (HTTP ${response.status}).`,
    retryAfter
  );
}

/**
 * Hand each event of a `text/event-stream` response to `onEvent` as soon as it is whole. A
 * stream that ends without `done` or `error` ends with an `error` event, so the reader always
 * knows the reply is over and why.
 */
export async function readEvents(
  response: Response,
  onEvent: (event: TutorEvent) => void
): Promise<void> {
  const parser = new SseParser();
  let ended = false;
  const deliver = (events: TutorEvent[]) => {
    for (const event of events) {
      ended = ended || event.type === 'done' || event.type === 'error';
      onEvent(event);
    }
  };
  if (response.body && typeof response.body.getReader === 'function') {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      deliver(parser.feed(decoder.decode(value, { stream: true })));
    }
    deliver(parser.feed(decoder.decode()));
  } else {
    // No streaming body (old browsers, test doubles): the whole reply at once.
    deliver(parser.feed(await response.text()));
  }
  deliver(parser.flush());
  if (!ended) {
    onEvent({
      type: 'error',
      message: "The tutor's reply was cut off before it finished. Try again."
    });
  }
}
