/**
 * Follows the learner's submissions from "submitted" to a result, in one notification each.
 *
 * It learns of a submission from the server's event bus (`submitted`), or, once at start,
 * from the server's list (a page reloaded while a submission waits). While any followed
 * submission has no result it asks the server again: at once after a change, then less and
 * less often while nothing changes, rarely while the server does not answer. With nothing to
 * follow it asks nothing, so an idle JupyterLab sends no request and the culler can stop it.
 */
import {
  INotice,
  ISubmissionStatus,
  ISubmittedEvent,
  NoticeType,
  isFinal,
  noticeOf,
  submittedStatus
} from './status';

/** A button of a notification (JupyterLab's `Notification.IAction`). */
export interface IAction {
  label: string;
  caption?: string;
  displayType?: 'default' | 'accent' | 'warn' | 'link';
  callback: (event: MouseEvent) => void;
}

/** What is shown with a notice: never closed by a timer, its link as a button. */
export interface INoticeOptions {
  autoClose: false;
  actions: IAction[];
}

/**
 * The part of JupyterLab's `Notification` used here: `emit` makes a notification and gives
 * its id, `update` changes it in place (false: the learner has dismissed it).
 */
export interface INotifier {
  emit(message: string, type: NoticeType, options: INoticeOptions): string;
  update(
    args: { id: string; message: string; type: NoticeType } & INoticeOptions
  ): boolean;
}

/** Timers and the clock (injected: the tests run them by hand). */
export interface ITimer {
  set(callback: () => void, milliseconds: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

export const browserTimer: ITimer = {
  set: (callback, milliseconds) => window.setTimeout(callback, milliseconds),
  clear: handle => window.clearTimeout(handle as number),
  now: () => Date.now()
};

/** How often the server is asked, in milliseconds. */
export interface IDelays {
  /** After a change, and the first time. */
  first: number;
  /** The longest wait while nothing changes. */
  steady: number;
  /** The longest wait while the server does not answer. */
  failing: number;
  /** After this long without a result, a submission is no longer followed. */
  giveUpAfter: number;
}

export const DEFAULT_DELAYS: IDelays = {
  first: 1000,
  steady: 5000,
  failing: 30000,
  giveUpAfter: 30 * 60 * 1000
};

export interface IFollowerOptions {
  /** The server's list of the submissions it follows, with their status. */
  fetch: () => Promise<ISubmissionStatus[]>;
  notifier: INotifier;
  /** Opens the feedback page (a new tab). */
  open: (url: string) => void;
  timer?: ITimer;
  delays?: Partial<IDelays>;
}

interface IFollowed {
  assignment: string;
  /** The notification's id; null once the learner dismissed it. */
  notification: string | null;
  shown: string;
  since: number;
  done: boolean;
}

export class SubmissionFollower {
  constructor(options: IFollowerOptions) {
    this._fetch = options.fetch;
    this._notifier = options.notifier;
    this._open = options.open;
    this._timer = options.timer ?? browserTimer;
    this._delays = { ...DEFAULT_DELAYS, ...options.delays };
    this._delay = this._delays.first;
  }

  /** Whether any submission is still followed (the server is asked again). */
  get following(): boolean {
    return [...this._followed.values()].some(entry => !entry.done);
  }

  /**
   * Ask the server once which submissions it follows: those still waiting for a result get
   * their notification (after a reload); those with one are left alone (already seen).
   */
  async start(): Promise<void> {
    let statuses: ISubmissionStatus[];
    try {
      statuses = await this._fetch();
    } catch (error) {
      return; // nothing to resume, or nothing known: the next submission starts afresh
    }
    for (const status of statuses) {
      if (!isFinal(status.state) && !this._followed.has(status.id)) {
        this._follow(status);
      }
    }
    this._schedule(this._delays.first);
  }

  /** A submission was stored (the server's event): show it and ask for its status at once. */
  submitted(event: ISubmittedEvent): void {
    if (this._disposed || this._followed.has(event.submission)) {
      return;
    }
    this._follow(submittedStatus(event));
    this._delay = this._delays.first;
    this._schedule(0);
  }

  dispose(): void {
    this._disposed = true;
    if (this._handle !== null) {
      this._timer.clear(this._handle);
      this._handle = null;
    }
  }

  private _follow(status: ISubmissionStatus): void {
    const notice = noticeOf(status);
    this._followed.set(status.id, {
      assignment: status.assignment,
      notification: this._notifier.emit(
        notice.message,
        notice.type,
        this._options(notice)
      ),
      shown: key(notice),
      since: this._timer.now(),
      done: isFinal(status.state)
    });
  }

  /** Show ``notice`` for ``entry`` if it says something new; whether it did. */
  private _show(entry: IFollowed, notice: INotice, final: boolean): boolean {
    if (key(notice) === entry.shown) {
      return false;
    }
    entry.shown = key(notice);
    const options = this._options(notice);
    const updated =
      entry.notification !== null &&
      this._notifier.update({
        id: entry.notification,
        message: notice.message,
        type: notice.type,
        ...options
      });
    if (!updated) {
      // Dismissed by the learner: the steps in between are not worth a new notification,
      // the result is.
      entry.notification = final
        ? this._notifier.emit(notice.message, notice.type, options)
        : null;
    }
    return true;
  }

  private _options(notice: INotice): INoticeOptions {
    const link = notice.link;
    const actions: IAction[] = link
      ? [
          {
            label:
              notice.type === 'success'
                ? 'Open feedback'
                : 'Open the assignment page',
            caption: link,
            displayType: 'link',
            callback: () => this._open(link)
          }
        ]
      : [];
    return { autoClose: false, actions };
  }

  private _schedule(milliseconds: number): void {
    if (this._disposed || !this.following) {
      return;
    }
    if (this._polling) {
      this._again = true; // asked while a request runs: once it ends, at once
      return;
    }
    if (this._handle !== null) {
      this._timer.clear(this._handle);
    }
    this._handle = this._timer.set(() => void this._poll(), milliseconds);
  }

  private async _poll(): Promise<void> {
    this._handle = null;
    this._polling = true;
    let statuses: ISubmissionStatus[] | null = null;
    try {
      statuses = await this._fetch();
    } catch (error) {
      statuses = null;
    }
    this._polling = false;
    if (this._disposed) {
      return;
    }
    let changed = false;
    for (const status of statuses ?? []) {
      const entry = this._followed.get(status.id);
      if (!entry || entry.done) {
        continue;
      }
      const final = isFinal(status.state);
      changed = this._show(entry, noticeOf(status), final) || changed;
      entry.done = final;
    }
    this._giveUpOnOld();
    if (statuses === null) {
      this._delay = Math.min(
        Math.max(this._delay * 2, this._delays.first),
        this._delays.failing
      );
    } else if (changed) {
      this._delay = this._delays.first;
    } else {
      this._delay = Math.min(this._delay * 1.5, this._delays.steady);
    }
    const again = this._again;
    this._again = false;
    this._schedule(again ? 0 : this._delay);
  }

  private _giveUpOnOld(): void {
    const now = this._timer.now();
    for (const entry of this._followed.values()) {
      if (!entry.done && now - entry.since > this._delays.giveUpAfter) {
        entry.done = true;
        const minutes = Math.round(this._delays.giveUpAfter / 60000);
        this._show(
          entry,
          {
            message: `${entry.assignment}: Not graded after ${minutes} minutes; the assignment page in the LMS will show the result.`,
            type: 'warning',
            link: null
          },
          true
        );
      }
    }
  }

  private readonly _fetch: () => Promise<ISubmissionStatus[]>;
  private readonly _notifier: INotifier;
  private readonly _open: (url: string) => void;
  private readonly _timer: ITimer;
  private readonly _delays: IDelays;
  private readonly _followed = new Map<string, IFollowed>();
  private _delay: number;
  private _handle: unknown = null;
  private _polling = false;
  private _again = false;
  private _disposed = false;
}

/** What a notice shows, to tell whether it changed. */
function key(notice: INotice): string {
  return `${notice.type}\n${notice.message}\n${notice.link ?? ''}`;
}
