/**
 * The tutor panel with a scripted tutor: streamed replies, the status line, history, and the
 * keyboard (Enter sends, Escape stops or goes back to the notebook).
 */
import {
  RenderMimeRegistry,
  standardRendererFactories
} from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import {
  IAskRequest,
  IExchange,
  INotebookIdentity,
  ITutorClient,
  ITutorStatus,
  TutorEvent,
  TutorRequestError
} from '../api';
import { ITutorContext, TutorPanel } from '../panel';

/** Let promises and the markdown renderer settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

/** A tutor whose replies the test releases event by event. */
class ScriptedTutor implements ITutorClient {
  asked: IAskRequest[] = [];
  statusAsked: Array<[string, string | null]> = [];
  identityAsked: Array<INotebookIdentity | undefined> = [];
  status_: ITutorStatus | Error = {
    policy: 'full',
    offline: false,
    model: 'tutor-model',
    quota: { used: 3, limit: 100 }
  };
  exchanges: IExchange[] = [];
  signal: AbortSignal | undefined;
  private _emit: ((event: TutorEvent) => void) | null = null;
  private _end: (() => void) | null = null;
  private _fail: ((reason: unknown) => void) | null = null;

  async status(
    course: string,
    assignment: string | null,
    identity?: INotebookIdentity
  ) {
    this.statusAsked.push([course, assignment]);
    this.identityAsked.push(identity);
    if (this.status_ instanceof Error) {
      throw this.status_;
    }
    return this.status_;
  }

  async history(course: string) {
    return this.exchanges;
  }

  ask(
    request: IAskRequest,
    onEvent: (event: TutorEvent) => void,
    signal?: AbortSignal
  ): Promise<void> {
    this.asked.push(request);
    this.signal = signal;
    this._emit = onEvent;
    return new Promise((resolve, reject) => {
      this._end = resolve;
      this._fail = reject;
      signal?.addEventListener('abort', () => {
        const error = new Error('aborted');
        error.name = 'AbortError';
        reject(error);
      });
    });
  }

  emit(event: TutorEvent): void {
    this._emit!(event);
  }

  end(): void {
    this._end!();
  }

  fail(reason: unknown): void {
    this._fail!(reason);
  }

  /** The model's reply ends well: 'done', end of stream, the panel has caught up. */
  async finish(asked: Promise<unknown>): Promise<void> {
    this.emit({ type: 'done', exchange_id: 1, offline: false, refused: false });
    this.end();
    await asked;
    await settle();
  }
}

const ASK_CLASS = {
  url: 'https://studio.example.org/courses/python-101/board/ask/',
  about: 'ps1-basics'
};

const request: IAskRequest = {
  mode: 'explain',
  course: 'python-101',
  assignment: 'ps1-basics',
  notebook: 'python-101/ps1-basics/ps1-basics.ipynb',
  cell_id: null,
  cell_source: 'x + 1',
  error: { ename: 'NameError', evalue: "name 'x'", traceback: [] },
  context_markdown: '',
  question: null,
  cell_ids: ['ps1-01'],
  grade_ids: ['ps1-instructions']
};

function makePanel(
  tutor: ScriptedTutor,
  overrides: Partial<ITutorContext> = {}
): { panel: TutorPanel; context: ITutorContext } {
  const context: ITutorContext = {
    location: () => ({ course: 'python-101', assignment: 'ps1-basics' }),
    chatRequest: (question: string) => ({ ...request, mode: 'chat', question }),
    returnFocus: jest.fn(),
    classDraft: (title: string) => ({
      title,
      notebook: 'ps1-basics.ipynb',
      cellId: 'ps1-celsius-answer',
      cellNumber: 3,
      error: {
        ename: 'NameError',
        evalue: "name 'x' is not defined",
        traceback: ['Cell In[3], line 1\n----> 1 x + 1\n']
      }
    }),
    openTab: jest.fn(),
    ...overrides
  };
  const rendermime = new RenderMimeRegistry({
    initialFactories: standardRendererFactories
  });
  const panel = new TutorPanel(tutor, rendermime, context);
  Widget.attach(panel, document.body);
  return { panel, context };
}

function question(panel: TutorPanel): HTMLTextAreaElement {
  return panel.node.querySelector('textarea')!;
}

function press(target: HTMLElement, key: string, shiftKey = false): void {
  target.dispatchEvent(
    new KeyboardEvent('keydown', { key, shiftKey, bubbles: true })
  );
}

describe('TutorPanel', () => {
  let tutor: ScriptedTutor;
  let panel: TutorPanel;

  beforeEach(() => {
    tutor = new ScriptedTutor();
  });

  afterEach(() => {
    panel.dispose();
  });

  it('shows the reply while it streams and says when it is done', async () => {
    ({ panel } = makePanel(tutor));
    const asked = panel.ask(request, 'Explain this error: NameError');
    tutor.emit({ type: 'notice', text: 'Your traceback was trimmed.' });
    tutor.emit({ type: 'delta', text: 'The name `x` ' });
    await settle();
    const entry = panel.node.querySelector('.pls-tutor-exchange')!;
    expect(entry.getAttribute('aria-label')).toBe(
      'Explain this error: NameError'
    );
    expect(entry.textContent).toContain('The name `x`');
    expect(entry.textContent).toContain('Your traceback was trimmed.');
    expect(panel.busy).toBe(true);

    tutor.emit({ type: 'delta', text: 'is not defined yet.' });
    await tutor.finish(asked);
    expect(entry.querySelector('.pls-tutor-markdown')!.textContent).toContain(
      'The name `x` is not defined yet.'
    );
    expect(entry.querySelector('.pls-tutor-exchange-state')!.textContent).toBe(
      'Done.'
    );
    expect(panel.busy).toBe(false);
  });

  it('follows the reply as it streams, unless the learner scrolled up', async () => {
    ({ panel } = makePanel(tutor));
    // jsdom lays nothing out: the conversation is 200 px high and as long as its text.
    const log = panel.node.querySelector('.pls-tutor-log') as HTMLElement;
    let top = 0;
    Object.defineProperty(log, 'clientHeight', { get: () => 200 });
    Object.defineProperty(log, 'scrollHeight', {
      get: () => 100 + 10 * (log.textContent ?? '').length
    });
    Object.defineProperty(log, 'scrollTop', {
      get: () => top,
      set: (value: number) => {
        top = Math.max(0, Math.min(value, log.scrollHeight - 200));
      }
    });
    const atEnd = () => log.scrollHeight - top - 200;

    const asked = panel.ask(request, 'Explain this error: NameError');
    tutor.emit({ type: 'delta', text: 'The name `x` is not defined. ' });
    await settle();
    expect(top).toBeGreaterThan(0);
    expect(atEnd()).toBe(0);
    tutor.emit({ type: 'delta', text: 'Run the cell that defines it first. ' });
    await settle();
    expect(atEnd()).toBe(0); // still at the end of the reply
    // The event of that scroll comes after more of the reply: the panel keeps following.
    tutor.emit({ type: 'delta', text: 'A name is known once its cell ran. ' });
    log.dispatchEvent(new Event('scroll'));
    await settle();
    expect(atEnd()).toBe(0);

    top = 0; // the learner scrolls up to read the start
    log.dispatchEvent(new Event('scroll'));
    tutor.emit({ type: 'delta', text: 'Check the spelling too.' });
    await tutor.finish(asked);
    expect(top).toBe(0); // left where they were reading

    const next = panel.ask(request, 'Explain this error: NameError');
    await settle();
    expect(atEnd()).toBe(0); // a new question brings the conversation to its end
    tutor.end();
    await next;
  });

  it('withdraws what was streamed when the reply fails, and shows why', async () => {
    ({ panel } = makePanel(tutor));
    const asked = panel.ask(request, 'Explain this error: NameError');
    tutor.emit({ type: 'delta', text: 'Half a reply' });
    tutor.emit({ type: 'error', message: 'The model did not answer in time.' });
    tutor.end();
    await asked;
    await settle();
    const entry = panel.node.querySelector('.pls-tutor-exchange')!;
    expect(entry.textContent).not.toContain('Half a reply');
    expect(entry.textContent).toContain('The model did not answer in time.');
    expect(entry.classList).toContain('pls-mod-error');
  });

  it("shows the tutor's refusal with when to try again", async () => {
    ({ panel } = makePanel(tutor));
    const asked = panel.ask(request, 'Explain this error: NameError');
    tutor.fail(
      new TutorRequestError(
        429,
        'rate_limited',
        'Too many questions this minute.',
        '30'
      )
    );
    await asked;
    expect(
      panel.node.querySelector('.pls-tutor-exchange')!.textContent
    ).toContain('Too many questions this minute. (try again in 30 s)');
  });

  it('shows the policy, the quota and the offline label of the notebook', async () => {
    tutor.status_ = {
      policy: 'hints-only',
      offline: true,
      model: null,
      quota: { used: 7, limit: 100 },
      message: 'Hints only for this problem set.'
    };
    ({ panel } = makePanel(tutor));
    await panel.refreshStatus();
    expect(tutor.statusAsked).toEqual([['python-101', 'ps1-basics']]);
    expect(panel.statusText).toContain('Hints only');
    expect(panel.statusText).toContain('7 of 100 questions used today');
    expect(panel.statusText).toContain('Offline mode');
    expect(panel.statusText).toContain('Hints only for this problem set.');
  });

  it('labels the mode when a model answers, as it labels offline mode', async () => {
    ({ panel } = makePanel(tutor));
    await panel.refreshStatus();
    expect(panel.statusText).toContain('Full help');
    expect(panel.statusText).toContain('AI model: tutor-model');
    expect(panel.statusText).toContain('3 of 100 questions used today');
    expect(panel.statusText).not.toContain('Offline');
  });

  it('says the tutor is off where the policy is off', async () => {
    tutor.status_ = { policy: 'off', offline: false, model: null };
    ({ panel } = makePanel(tutor));
    await panel.refreshStatus();
    expect(panel.statusText).toContain('Tutor off here');
    expect(panel.hasClass('pls-mod-off')).toBe(true);
  });

  it('asks the status with the ids of the notebook the learner is in', async () => {
    const identity = { cell_ids: ['ps1-01'], grade_ids: ['ps1-instructions'] };
    ({ panel } = makePanel(tutor, {
      location: () => ({ course: 'python-101', assignment: null, identity })
    }));
    await panel.refreshStatus();
    expect(tutor.statusAsked).toEqual([['python-101', null]]);
    expect(tutor.identityAsked).toEqual([identity]);
  });

  it('asks nothing when no notebook of a course is open', async () => {
    ({ panel } = makePanel(tutor, { location: () => null }));
    await panel.refreshStatus();
    expect(tutor.statusAsked).toEqual([]);
    expect(panel.statusText).toContain(
      'Open a notebook of one of your courses'
    );
  });

  it('offers "Ask the class" only where the tutor says where to ask', async () => {
    ({ panel } = makePanel(tutor));
    const button = panel.node.querySelector(
      '.pls-tutor-ask-class'
    ) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(panel.askTheClass()).toBeNull();
    tutor.status_ = {
      ...(tutor.status_ as ITutorStatus),
      ask_class: ASK_CLASS
    };
    await panel.refreshStatus();
    expect(button.disabled).toBe(false);
    tutor.status_ = new TutorRequestError(502, 'tutor_unreachable', 'Down.');
    await panel.refreshStatus();
    expect(button.disabled).toBe(true);
  });

  it('opens a draft of the typed question, or else the last one asked, in a new tab', async () => {
    tutor.status_ = {
      ...(tutor.status_ as ITutorStatus),
      ask_class: ASK_CLASS
    };
    let context: ITutorContext;
    ({ panel, context } = makePanel(tutor));
    await panel.refreshStatus();
    const asked = panel.ask(request, 'Explain this error: NameError');
    await tutor.finish(asked);
    (panel.node.querySelector('.pls-tutor-ask-class') as HTMLElement).click();
    const opened = (context.openTab as jest.Mock).mock.calls[0][0] as string;
    expect(opened.startsWith(ASK_CLASS.url + '?')).toBe(true);
    const query = new URL(opened).searchParams;
    expect(query.get('title')).toBe('Explain this error: NameError');
    expect(query.get('about')).toBe('ps1-basics');
    expect(query.get('cell')).toBe('ps1-celsius-answer');
    expect(query.get('error')).toBe("NameError: name 'x' is not defined");
    expect(query.get('traceback')).toContain('Cell In[3], line 1');
    expect(decodeURIComponent(opened)).not.toContain('x + 1');
    // Nothing was sent to the tutor for it, and nothing posted: only a tab opened.
    expect(tutor.asked).toHaveLength(1);

    question(panel).value = 'How do I define fahrenheit?';
    const typed = new URL(panel.askTheClass()!).searchParams;
    expect(typed.get('title')).toBe('How do I define fahrenheit?');
  });

  it('sends the question on Enter and keeps Shift+Enter for a new line', async () => {
    ({ panel } = makePanel(tutor));
    const box = question(panel);
    box.value = 'Why is my loop endless?';
    press(box, 'Enter', true);
    expect(tutor.asked).toEqual([]);
    press(box, 'Enter');
    await settle();
    expect(tutor.asked).toHaveLength(1);
    expect(tutor.asked[0]).toMatchObject({
      mode: 'chat',
      question: 'Why is my loop endless?'
    });
    expect(box.value).toBe('');
  });

  it('stops the reply on Escape, and goes back to the notebook on a second Escape', async () => {
    const { panel: made, context } = makePanel(tutor);
    panel = made;
    const asked = panel.ask(request, 'Explain this error: NameError');
    press(question(panel), 'Escape');
    await asked;
    expect(tutor.signal!.aborted).toBe(true);
    expect(
      panel.node.querySelector('.pls-tutor-exchange')!.textContent
    ).toContain('Stopped.');
    expect(context.returnFocus).not.toHaveBeenCalled();
    press(question(panel), 'Escape');
    expect(context.returnFocus).toHaveBeenCalledTimes(1);
  });

  it('labels its controls for assistive technology', () => {
    ({ panel } = makePanel(tutor));
    expect(panel.node.getAttribute('aria-label')).toBe('Tutor');
    expect(question(panel).getAttribute('aria-label')).toBe('Ask the tutor');
    expect(panel.node.querySelector('[role="log"]')).not.toBeNull();
    expect(panel.node.querySelector('[role="status"]')).not.toBeNull();
    const labels = [...panel.node.querySelectorAll('button')].map(
      button => button.getAttribute('aria-label') ?? button.textContent
    );
    expect(labels).toEqual([
      'Show your earlier questions',
      'Send the question to the tutor',
      'Stop the reply',
      'Ask the class: open a draft of this question on the course board in a new tab'
    ]);
  });

  it('loads the earlier questions only when the learner opens them', async () => {
    tutor.exchanges = [
      {
        id: 1,
        course: 'python-101',
        assignment: 'ps1-basics',
        mode: 'explain',
        cell_id: null,
        error_type: 'NameError',
        question: null,
        reply: 'A name must be defined before use.',
        offline: true,
        refused: false,
        created_at: '2026-12-01T10:00:00Z'
      }
    ];
    ({ panel } = makePanel(tutor));
    const history = jest.spyOn(tutor, 'history');
    expect(history).not.toHaveBeenCalled();
    const toggle = panel.node.querySelector<HTMLButtonElement>(
      '.pls-tutor-history-toggle'
    )!;
    toggle.click();
    await settle();
    expect(history).toHaveBeenCalledWith('python-101');
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    const list = panel.node.querySelector('.pls-tutor-history-list')!;
    expect(list.textContent).toContain(
      'Explain NameError (ps1-basics), offline'
    );
    expect(list.textContent).toContain('A name must be defined before use.');
  });
});
