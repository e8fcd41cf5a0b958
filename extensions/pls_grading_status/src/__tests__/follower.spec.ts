/**
 * The follower: one notification per submission, updated in place from "submitted" to the
 * result; asking the server only while something is waiting, less often while nothing
 * changes; resuming after a reload; giving up after a long wait.
 */
import {
  INoticeOptions,
  INotifier,
  ITimer,
  SubmissionFollower
} from '../follower';
import { ISubmissionStatus, ISubmittedEvent, NoticeType } from '../status';

const FEEDBACK = 'https://lms.example.org/courses/python-101/ps1-basics/';
const ID = 'c'.repeat(32);

interface IShown {
  id: string;
  message: string;
  type: NoticeType;
  options: INoticeOptions;
  dismissed: boolean;
}

/** JupyterLab's notifications, kept in a list; `dismiss` is the learner closing one. */
class FakeNotifier implements INotifier {
  shown: IShown[] = [];
  updates = 0;

  emit(message: string, type: NoticeType, options: INoticeOptions): string {
    const id = `n${this.shown.length + 1}`;
    this.shown.push({ id, message, type, options, dismissed: false });
    return id;
  }

  update(
    args: { id: string; message: string; type: NoticeType } & INoticeOptions
  ): boolean {
    const found = this.shown.find(n => n.id === args.id && !n.dismissed);
    if (!found) {
      return false;
    }
    this.updates += 1;
    const { id, message, type, ...options } = args;
    Object.assign(found, { id, message, type, options });
    return true;
  }

  dismiss(id: string): void {
    this.shown.find(n => n.id === id)!.dismissed = true;
  }

  messages(): string[] {
    return this.shown.filter(n => !n.dismissed).map(n => n.message);
  }
}

/** Timers run by hand: `next()` runs the one waiting and says how long it waited. */
class ManualTimer implements ITimer {
  clock = 0;
  waiting: { callback: () => void; milliseconds: number } | null = null;
  waits: number[] = [];

  set(callback: () => void, milliseconds: number): unknown {
    this.waiting = { callback, milliseconds };
    return this.waiting;
  }

  clear(handle: unknown): void {
    if (this.waiting === handle) {
      this.waiting = null;
    }
  }

  now(): number {
    return this.clock;
  }

  async next(): Promise<void> {
    const waiting = this.waiting;
    if (!waiting) {
      throw new Error('nothing is scheduled');
    }
    this.waiting = null;
    this.clock += waiting.milliseconds;
    this.waits.push(waiting.milliseconds);
    waiting.callback();
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

/** The server's answers, one list per request (the last one repeats). */
class FakeServer {
  answers: Array<ISubmissionStatus[] | Error> = [];
  requests = 0;

  fetch = async (): Promise<ISubmissionStatus[]> => {
    this.requests += 1;
    const answer =
      this.answers.length > 1 ? this.answers.shift()! : this.answers[0];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer ?? [];
  };
}

function status(fields: Partial<ISubmissionStatus>): ISubmissionStatus {
  return {
    id: ID,
    course: 'python-101',
    assignment: 'ps1-basics',
    submitted_at: '2030-01-01T10:00:00+00:00',
    state: 'queued',
    ...fields
  };
}

const EVENT: ISubmittedEvent = {
  course: 'python-101',
  assignment: 'ps1-basics',
  submission: ID,
  submitted_at: '2030-01-01T10:00:00+00:00'
};

function setup() {
  const notifier = new FakeNotifier();
  const timer = new ManualTimer();
  const server = new FakeServer();
  const opened: string[] = [];
  const follower = new SubmissionFollower({
    fetch: server.fetch,
    notifier,
    open: url => opened.push(url),
    timer
  });
  return { notifier, timer, server, opened, follower };
}

describe('SubmissionFollower', () => {
  it('follows a submission from queued to graded in one notification', async () => {
    const { notifier, timer, server, opened, follower } = setup();
    server.answers = [
      [status({ state: 'queued', ahead: 2 })],
      [status({ state: 'queued', ahead: 1 })],
      [status({ state: 'grading', ahead: null })],
      [
        status({
          state: 'graded',
          score: 8,
          max_score: 10,
          feedback_url: FEEDBACK
        })
      ]
    ];
    follower.submitted(EVENT);
    expect(notifier.messages()).toEqual([
      'ps1-basics: Submitted, waiting for the grader…'
    ]);
    const seen = [];
    for (let i = 0; i < 4; i++) {
      await timer.next();
      seen.push(notifier.shown[0].message);
    }
    expect(seen).toEqual([
      'ps1-basics: Queued (2 ahead of you)',
      'ps1-basics: Queued (1 ahead of you)',
      'ps1-basics: Grading…',
      'ps1-basics: Graded 8/10'
    ]);
    expect(notifier.shown).toHaveLength(1);
    const [done] = notifier.shown;
    expect(done.type).toBe('success');
    expect(done.options.autoClose).toBe(false);
    const [action] = done.options.actions;
    expect(action.label).toBe('Open feedback');
    action.callback(new MouseEvent('click'));
    expect(opened).toEqual([FEEDBACK]);
    expect(timer.waiting).toBeNull(); // nothing left to follow: the server is not asked again
    expect(server.requests).toBe(4);
  });

  it('asks nothing while nothing was submitted', async () => {
    const { timer, server, follower } = setup();
    server.answers = [[]];
    await follower.start();
    expect(server.requests).toBe(1); // one look at page load
    expect(timer.waiting).toBeNull();
  });

  it('asks less and less often while nothing changes, at once after a change', async () => {
    const { timer, server, follower } = setup();
    const queued = [status({ state: 'queued', ahead: 3 })];
    server.answers = [queued, queued, queued, queued, queued, queued];
    follower.submitted(EVENT);
    for (let i = 0; i < 6; i++) {
      await timer.next();
    }
    server.answers = [[status({ state: 'grading' })]];
    await timer.next();
    await timer.next();
    expect(timer.waits).toEqual([0, 1000, 1500, 2250, 3375, 5000, 5000, 1000]);
  });

  it('waits longer while the server does not answer, then goes on', async () => {
    const { notifier, timer, server, follower } = setup();
    const down = new Error('no answer');
    server.answers = [down, down, down, [status({ state: 'grading' })]];
    follower.submitted(EVENT);
    for (let i = 0; i < 4; i++) {
      await timer.next();
    }
    expect(timer.waits).toEqual([0, 2000, 4000, 8000]);
    expect(notifier.shown[0].message).toBe('ps1-basics: Grading…');
  });

  it("gives the grader's sentence when the submission could not be graded", async () => {
    const { notifier, timer, server, follower } = setup();
    server.answers = [
      [
        status({
          state: 'could-not-be-graded',
          message: "a problem on the grader's side."
        })
      ]
    ];
    follower.submitted(EVENT);
    await timer.next();
    expect(notifier.shown[0]).toMatchObject({
      message:
        "ps1-basics: Could not be graded: a problem on the grader's side.",
      type: 'error'
    });
    expect(notifier.shown[0].options.actions).toEqual([]);
    expect(timer.waiting).toBeNull();
  });

  it('resumes a submission still waiting after a reload, not those with a result', async () => {
    const { notifier, timer, server, follower } = setup();
    const other = 'd'.repeat(32);
    server.answers = [
      [
        status({ state: 'grading' }),
        status({ id: other, state: 'graded', score: 1, max_score: 2 })
      ],
      [status({ state: 'graded', score: 10, max_score: 10 })]
    ];
    await follower.start();
    expect(notifier.messages()).toEqual(['ps1-basics: Grading…']);
    await timer.next();
    expect(notifier.messages()).toEqual(['ps1-basics: Graded 10/10']);
  });

  it('shows the result anew when the learner closed the notification on the way', async () => {
    const { notifier, timer, server, follower } = setup();
    server.answers = [
      [status({ state: 'grading' })],
      [status({ state: 'queued', ahead: 0 })],
      [status({ state: 'graded', score: 3, max_score: 4 })]
    ];
    follower.submitted(EVENT);
    notifier.dismiss('n1');
    await timer.next();
    await timer.next();
    expect(notifier.messages()).toEqual([]); // the steps in between: not worth a new one
    await timer.next();
    expect(notifier.messages()).toEqual(['ps1-basics: Graded 3/4']);
  });

  it('updates only when something changed', async () => {
    const { notifier, timer, server, follower } = setup();
    const grading = [status({ state: 'grading' })];
    server.answers = [grading, grading, grading];
    follower.submitted(EVENT);
    await timer.next();
    await timer.next();
    await timer.next();
    expect(notifier.updates).toBe(1);
  });

  it('gives up after a long wait and says where the result will be', async () => {
    const notifier = new FakeNotifier();
    const timer = new ManualTimer();
    const server = new FakeServer();
    server.answers = [[status({ state: 'queued', ahead: 40 })]];
    const follower = new SubmissionFollower({
      fetch: server.fetch,
      notifier,
      open: () => undefined,
      timer,
      delays: { giveUpAfter: 60000 }
    });
    follower.submitted(EVENT);
    while (timer.waiting) {
      await timer.next();
    }
    expect(notifier.shown[0]).toMatchObject({
      message:
        'ps1-basics: Not graded after 1 minutes; the assignment page in the LMS will show the result.',
      type: 'warning'
    });
    expect(timer.clock).toBeGreaterThan(60000);
  });

  it('follows two submissions in two notifications', async () => {
    const { notifier, timer, server, follower } = setup();
    const second = 'e'.repeat(32);
    server.answers = [
      [
        status({ id: second, state: 'queued', ahead: 1 }),
        status({ state: 'grading' })
      ]
    ];
    follower.submitted(EVENT);
    follower.submitted({ ...EVENT, submission: second });
    follower.submitted(EVENT); // the same event twice: still one notification
    await timer.next();
    expect(notifier.messages()).toEqual([
      'ps1-basics: Grading…',
      'ps1-basics: Queued (1 ahead of you)'
    ]);
  });
});
