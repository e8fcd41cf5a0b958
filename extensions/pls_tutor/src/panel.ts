/**
 * The tutor side panel: what the tutor may do here (policy, quota, offline mode), the
 * conversation of this session with replies streamed in as markdown (JupyterLab's own
 * renderer: sanitized, code highlighted), the learner's earlier exchanges, and a question box.
 *
 * Keyboard: Tab moves through the status, the conversation, the history and the question box
 * in that order; Enter sends, Shift+Enter starts a new line; Escape stops a reply being
 * written, or, when none is, returns to the notebook.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { Message } from '@lumino/messaging';

import {
  IAskClass,
  IAskRequest,
  IExchange,
  ITutorClient,
  ITutorStatus,
  TutorEvent,
  TutorRequestError
} from './api';
import { IClassDraft, draftUrl } from './askclass';
import { ILocation } from './context';

/** What the panel asks of the lab about the notebook the learner is in. */
export interface ITutorContext {
  /**
   * Course, assignment and ids of the current notebook (null: no notebook of a course is
   * open).
   */
  location(): ILocation | null;
  /** A chat request for a typed question, with the current notebook and cell as context. */
  chatRequest(question: string): IAskRequest | null;
  /** Give the keyboard back to the notebook (Escape with nothing to stop). */
  returnFocus(): void;
  /**
   * "Ask the class": a draft of `title` about the active cell of the open notebook (its
   * error, never its code; null: no notebook is open).
   */
  classDraft(title: string): IClassDraft | null;
  /** Open `url` in a new browser tab. */
  openTab(url: string): void;
}

export const PANEL_ID = 'pls-tutor-panel';

const POLICY_LABELS: Record<ITutorStatus['policy'], string> = {
  full: 'Full help',
  'hints-only': 'Hints only',
  off: 'Tutor off here'
};

/** Renders markdown into a widget, at most one render at a time, always the latest text. */
class MarkdownView {
  readonly widget: Widget;
  private _text = '';
  private _rendering: Promise<void> | null = null;
  private _dirty = false;

  constructor(rendermime: IRenderMimeRegistry) {
    this.widget = rendermime.createRenderer('text/markdown');
    this.widget.addClass('pls-tutor-markdown');
  }

  get text(): string {
    return this._text;
  }

  set(text: string): Promise<void> {
    this._text = text;
    this._dirty = true;
    if (!this._rendering) {
      this._rendering = this._drain();
    }
    return this._rendering;
  }

  private async _drain(): Promise<void> {
    while (this._dirty) {
      this._dirty = false;
      const model = new MimeModel({
        data: { 'text/markdown': this._text },
        trusted: false
      });
      await (this.widget as any).renderModel(model);
    }
    this._rendering = null;
  }
}

/** One question and its reply in the conversation. */
class ExchangeView extends Panel {
  readonly reply: MarkdownView;
  private readonly _notices: HTMLUListElement;
  private readonly _state: HTMLParagraphElement;

  constructor(title: string, rendermime: IRenderMimeRegistry) {
    super();
    this.addClass('pls-tutor-exchange');
    this.node.setAttribute('role', 'article');
    this.node.setAttribute('aria-label', title);
    const head = new Widget({ node: document.createElement('h3') });
    head.node.textContent = title;
    head.addClass('pls-tutor-exchange-title');
    this.addWidget(head);
    const notices = new Widget({ node: document.createElement('ul') });
    notices.addClass('pls-tutor-notices');
    this._notices = notices.node as HTMLUListElement;
    this.addWidget(notices);
    this.reply = new MarkdownView(rendermime);
    this.reply.widget.node.setAttribute('aria-busy', 'true');
    this.addWidget(this.reply.widget);
    const state = new Widget({ node: document.createElement('p') });
    state.addClass('pls-tutor-exchange-state');
    this._state = state.node as HTMLParagraphElement;
    this._state.textContent = 'The tutor is writing…';
    this.addWidget(state);
  }

  notice(text: string): void {
    const item = document.createElement('li');
    item.textContent = text;
    this._notices.appendChild(item);
  }

  finish(state: string, kind: 'done' | 'error' | 'stopped'): void {
    this.reply.widget.node.setAttribute('aria-busy', 'false');
    this._state.textContent = state;
    this._state.dataset.kind = kind;
    this.toggleClass('pls-mod-error', kind === 'error');
  }
}

export class TutorPanel extends Panel {
  private readonly _client: ITutorClient;
  private readonly _rendermime: IRenderMimeRegistry;
  private readonly _context: ITutorContext;
  private readonly _status: HTMLDivElement;
  private readonly _log: Panel;
  private readonly _historyToggle: HTMLButtonElement;
  private readonly _historyList: Panel;
  private readonly _question: HTMLTextAreaElement;
  private readonly _send: HTMLButtonElement;
  private readonly _stop: HTMLButtonElement;
  private readonly _askClass: HTMLButtonElement;
  private _askClassTarget: IAskClass | null = null;
  /** The title of the last question asked in the panel: the current question. */
  private _lastTitle = '';
  private _abort: AbortController | null = null;
  private _location: ILocation | null = null;
  private _policy: ITutorStatus['policy'] | null = null;
  /** Whether the conversation follows the reply being written (the learner has not
   * scrolled up to read something else). */
  private _follow = true;
  /** Where the panel last scrolled the conversation to (its own scroll is not the learner's). */
  private _scrolledTo: number | null = null;

  constructor(
    client: ITutorClient,
    rendermime: IRenderMimeRegistry,
    context: ITutorContext
  ) {
    super();
    this._client = client;
    this._rendermime = rendermime;
    this._context = context;
    this.id = PANEL_ID;
    this.addClass('pls-tutor-panel');
    this.title.caption = 'Tutor';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Tutor');

    const header = new Widget({ node: document.createElement('header') });
    header.addClass('pls-tutor-header');
    const heading = document.createElement('h2');
    heading.textContent = 'Tutor';
    this._status = document.createElement('div');
    this._status.className = 'pls-tutor-status';
    this._status.setAttribute('role', 'status');
    this._status.setAttribute('aria-live', 'polite');
    header.node.append(heading, this._status);
    this.addWidget(header);

    this._log = new Panel();
    this._log.addClass('pls-tutor-log');
    this._log.node.setAttribute('role', 'log');
    this._log.node.setAttribute('aria-live', 'polite');
    this._log.node.setAttribute('aria-label', 'Conversation with the tutor');
    this._log.node.tabIndex = 0;
    // The learner's scrolling decides whether the conversation keeps following the reply as
    // it grows: scrolled up, it stays put; back at the end, it follows again. The event of the
    // panel's own scroll may come after more of the reply arrived: it changes nothing.
    this._log.node.addEventListener('scroll', () => {
      if (this._log.node.scrollTop !== this._scrolledTo) {
        this._follow = this._atEnd();
      }
    });
    this.addWidget(this._log);

    // Earlier exchanges are fetched only when the learner opens them (a disclosure button).
    const history = new Panel();
    history.addClass('pls-tutor-history');
    const toggle = new Widget({ node: document.createElement('button') });
    this._historyToggle = toggle.node as HTMLButtonElement;
    this._historyToggle.type = 'button';
    this._historyToggle.className =
      'jp-Button jp-mod-styled pls-tutor-history-toggle';
    this._historyToggle.textContent = 'Show your earlier questions';
    this._historyToggle.setAttribute('aria-expanded', 'false');
    this._historyToggle.setAttribute('aria-controls', `${PANEL_ID}-history`);
    this._historyList = new Panel();
    this._historyList.id = `${PANEL_ID}-history`;
    this._historyList.addClass('pls-tutor-history-list');
    this._historyList.hide();
    this._historyToggle.addEventListener('click', () => {
      const open = this._historyList.isHidden;
      this._historyList.setHidden(!open);
      this._historyToggle.setAttribute('aria-expanded', String(open));
      this._historyToggle.textContent = open
        ? 'Hide your earlier questions'
        : 'Show your earlier questions';
      if (open) {
        void this.loadHistory();
      }
    });
    history.addWidget(toggle);
    history.addWidget(this._historyList);
    this.addWidget(history);

    const form = new Widget({ node: document.createElement('form') });
    form.addClass('pls-tutor-form');
    this._question = document.createElement('textarea');
    this._question.className = 'pls-tutor-question';
    this._question.rows = 3;
    this._question.placeholder = 'Ask about your code or an error…';
    this._question.setAttribute('aria-label', 'Ask the tutor');
    this._send = document.createElement('button');
    this._send.type = 'submit';
    this._send.className = 'jp-Button jp-mod-accept pls-tutor-send';
    this._send.textContent = 'Send';
    this._send.setAttribute('aria-label', 'Send the question to the tutor');
    this._stop = document.createElement('button');
    this._stop.type = 'button';
    this._stop.className = 'jp-Button jp-mod-reject pls-tutor-stop';
    this._stop.textContent = 'Stop';
    this._stop.setAttribute('aria-label', 'Stop the reply');
    this._stop.disabled = true;
    this._askClass = document.createElement('button');
    this._askClass.type = 'button';
    this._askClass.className = 'jp-Button jp-mod-styled pls-tutor-ask-class';
    this._askClass.textContent = 'Ask the class';
    this._askClass.setAttribute(
      'aria-label',
      'Ask the class: open a draft of this question on the course board in a new tab'
    );
    this._askClass.addEventListener('click', () => this.askTheClass());
    this._setAskClass(null);
    const buttons = document.createElement('div');
    buttons.className = 'pls-tutor-buttons';
    buttons.append(this._send, this._stop, this._askClass);
    form.node.append(this._question, buttons);
    form.node.addEventListener('submit', event => {
      event.preventDefault();
      void this.sendQuestion();
    });
    this._question.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.sendQuestion();
      }
    });
    this._stop.addEventListener('click', () => this.stop());
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        if (this._abort) {
          this.stop();
        } else {
          this._context.returnFocus();
        }
      }
    });
    this.addWidget(form);
  }

  /** Whether a reply is being written. */
  get busy(): boolean {
    return this._abort !== null;
  }

  /**
   * Open the LMS's draft of the current question (the one typed in the box, or else the last
   * one asked) on the course board, in a new tab; nothing is posted until the learner sends it
   * there. Returns the URL opened, or null when there is nowhere to ask.
   */
  askTheClass(): string | null {
    const target = this._askClassTarget;
    if (!target) {
      return null;
    }
    const title = this._question.value.trim() || this._lastTitle;
    const draft = this._context.classDraft(title) ?? {
      title,
      notebook: null,
      cellId: null,
      cellNumber: null,
      error: null
    };
    const url = draftUrl(target, draft);
    this._context.openTab(url);
    return url;
  }

  /** The status line's text, as a screen reader would read it. */
  get statusText(): string {
    return this._status.textContent ?? '';
  }

  /**
   * Ask the tutor what the panel shows before a question: called when the panel is shown,
   * when the learner moves to another notebook and after each reply. Never on a timer.
   */
  async refreshStatus(): Promise<void> {
    const location = this._context.location();
    this._location = location;
    if (!location?.course) {
      this._policy = null;
      this._setAskClass(null);
      this._showStatus([
        [
          'pls-tutor-hint-text',
          'Open a notebook of one of your courses to ask the tutor.'
        ]
      ]);
      return;
    }
    try {
      const status = await this._client.status(
        location.course,
        location.assignment,
        location.identity
      );
      this._policy = status.policy;
      this._setAskClass(status.ask_class ?? null);
      const parts: Array<[string, string]> = [
        ['pls-tutor-policy', POLICY_LABELS[status.policy] ?? status.policy]
      ];
      if (status.offline) {
        parts.push([
          'pls-tutor-offline',
          'Offline mode: explanations of common errors and your instructors’ hints, no AI model'
        ]);
      } else if (status.policy !== 'off') {
        parts.push([
          'pls-tutor-mode',
          status.model ? `AI model: ${status.model}` : 'AI model'
        ]);
      }
      if (status.quota) {
        parts.push([
          'pls-tutor-quota',
          `${status.quota.used} of ${status.quota.limit} questions used today`
        ]);
      }
      if (status.message) {
        parts.push(['pls-tutor-message', status.message]);
      }
      this._showStatus(parts);
    } catch (reason) {
      this._policy = null;
      this._setAskClass(null);
      this._showStatus([['pls-tutor-problem', problemText(reason)]]);
    }
  }

  /** Send what the learner typed as a `chat` question. */
  async sendQuestion(): Promise<void> {
    const question = this._question.value.trim();
    if (!question || this.busy) {
      return;
    }
    const request = this._context.chatRequest(question);
    if (!request || !request.course) {
      this._showStatus([
        [
          'pls-tutor-problem',
          'Open a notebook of one of your courses to ask the tutor.'
        ]
      ]);
      return;
    }
    this._question.value = '';
    await this.ask(request, question);
  }

  /**
   * Ask the tutor and stream its reply into a new entry of the conversation. Resolves when
   * the reply is complete, failed or was stopped.
   */
  async ask(request: IAskRequest, title: string): Promise<void> {
    this.stop();
    this._lastTitle = title;
    const entry = new ExchangeView(title, this._rendermime);
    this._log.addWidget(entry);
    // A new question brings the conversation to its end, and it follows the reply from there.
    this._follow = true;
    const follow = () => {
      if (this._follow) {
        this._scrollToEnd();
      }
    };
    follow();
    const abort = new AbortController();
    this._abort = abort;
    this._setBusy(true);
    let finished = false;
    const onEvent = (event: TutorEvent) => {
      if (finished) {
        return;
      }
      switch (event.type) {
        case 'notice':
          entry.notice(event.text);
          follow();
          break;
        case 'delta':
          void entry.reply.set(entry.reply.text + event.text).then(follow);
          break;
        case 'done':
          finished = true;
          entry.finish(
            event.refused
              ? 'The tutor held part of this reply back.'
              : event.offline
                ? 'Answered in offline mode.'
                : 'Done.',
            'done'
          );
          follow();
          break;
        case 'error':
          finished = true;
          // The contract: what was streamed is withdrawn.
          void entry.reply.set('');
          entry.finish(event.message, 'error');
          follow();
          break;
      }
    };
    try {
      await this._client.ask(request, onEvent, abort.signal);
    } catch (reason) {
      if (!finished) {
        finished = true;
        if (abort.signal.aborted) {
          entry.finish('Stopped.', 'stopped');
        } else {
          void entry.reply.set('');
          entry.finish(problemText(reason), 'error');
        }
        follow();
      }
    } finally {
      if (this._abort === abort) {
        this._abort = null;
        this._setBusy(false);
      }
    }
    void this.refreshStatus();
  }

  /** Stop the reply being written, if any. */
  stop(): void {
    if (this._abort) {
      const abort = this._abort;
      this._abort = null;
      this._setBusy(false);
      abort.abort();
    }
  }

  /** The learner's own earlier exchanges in this course, newest first (on request). */
  async loadHistory(): Promise<void> {
    for (const widget of [...this._historyList.widgets]) {
      widget.dispose();
    }
    const course = (this._location ?? this._context.location())?.course;
    const note = new Widget({ node: document.createElement('p') });
    this._historyList.addWidget(note);
    if (!course) {
      note.node.textContent =
        'Open a notebook of one of your courses to see your questions.';
      return;
    }
    note.node.textContent = 'Loading…';
    let exchanges: IExchange[];
    try {
      exchanges = await this._client.history(course);
    } catch (reason) {
      note.node.textContent = problemText(reason);
      return;
    }
    note.node.textContent = exchanges.length
      ? `${exchanges.length} earlier question${exchanges.length === 1 ? '' : 's'} in ${course}`
      : `No earlier questions in ${course}.`;
    for (const exchange of exchanges) {
      const item = new Panel();
      item.addClass('pls-tutor-history-item');
      const head = new Widget({ node: document.createElement('p') });
      head.addClass('pls-tutor-history-head');
      head.node.textContent = historyTitle(exchange);
      item.addWidget(head);
      const reply = new MarkdownView(this._rendermime);
      item.addWidget(reply.widget);
      void reply.set(exchange.reply);
      this._historyList.addWidget(item);
    }
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this._question.focus();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refreshStatus();
  }

  /** Whether the conversation is scrolled to (within a line of) its end. */
  private _atEnd(): boolean {
    const log = this._log.node;
    return log.scrollHeight - log.scrollTop - log.clientHeight <= 24;
  }

  private _scrollToEnd(): void {
    const log = this._log.node;
    log.scrollTop = log.scrollHeight;
    this._scrolledTo = log.scrollTop;
  }

  private _setAskClass(target: IAskClass | null): void {
    this._askClassTarget = target?.url ? target : null;
    this._askClass.disabled = this._askClassTarget === null;
    this._askClass.title = this._askClassTarget
      ? 'Open a draft of this question on the course board (nothing is posted until you send it)'
      : 'Open a notebook of one of your courses to ask the class.';
  }

  private _setBusy(busy: boolean): void {
    this._send.disabled = busy;
    this._stop.disabled = !busy;
    this._log.node.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  private _showStatus(parts: Array<[string, string]>): void {
    this._status.replaceChildren(
      ...parts.map(([className, text]) => {
        const span = document.createElement('span');
        span.className = className;
        span.textContent = text;
        return span;
      })
    );
    this.toggleClass('pls-mod-off', this._policy === 'off');
  }
}

/** The sentence to show for a failed request. */
export function problemText(reason: unknown): string {
  if (reason instanceof TutorRequestError) {
    return reason.retryAfter && reason.status === 429
      ? `${reason.message} (try again in ${reason.retryAfter} s)`
      : reason.message;
  }
  if (reason instanceof Error && reason.name === 'NetworkError') {
    return 'Your JupyterLab server does not answer; check your connection.';
  }
  return 'The tutor could not be asked. Try again in a minute.';
}

function historyTitle(exchange: IExchange): string {
  const when = new Date(exchange.created_at);
  const date = isNaN(when.getTime())
    ? exchange.created_at
    : when.toLocaleString();
  const what =
    exchange.mode === 'explain'
      ? `Explain ${exchange.error_type ?? 'an error'}`
      : exchange.mode === 'hint'
        ? `Hint for ${exchange.cell_id ?? 'a cell'}`
        : (exchange.question ?? 'Question');
  const where = exchange.assignment ? ` (${exchange.assignment})` : '';
  return `${date}: ${what}${where}${exchange.offline ? ', offline' : ''}`;
}
