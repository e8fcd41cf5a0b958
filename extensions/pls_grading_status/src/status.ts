/**
 * A submission's grading status as the grader gives it (docs/grading.md, "Grading status")
 * and what the learner's notification says of it: one short line, a type, and the link to the
 * feedback once there is a result.
 */

/** The event the learner's server emits once nbgrader's exchange has stored a submission. */
export const SUBMITTED_EVENT =
  'urn:python-learning-studio:events:grading:submitted:v1';

/**
 * `submitted`: the server knows of the submission but has no answer from the grader yet;
 * the other states are the grader's.
 */
export type GradingState =
  | 'submitted'
  | 'queued'
  | 'grading'
  | 'graded'
  | 'could-not-be-graded'
  | 'invalid';

/** The states after which nothing changes unless the learner submits again. */
export const FINAL_STATES: ReadonlyArray<GradingState> = [
  'graded',
  'could-not-be-graded',
  'invalid'
];

/** One entry of `GET /pls-grading-status/submissions`. */
export interface ISubmissionStatus {
  id: string;
  course: string;
  assignment: string;
  submitted_at: string;
  state: GradingState;
  late?: boolean;
  ahead?: number | null;
  score?: number | null;
  max_score?: number | null;
  feedback_url?: string | null;
  message?: string;
  /** Why the grader could not be asked just now (the state is the last one known). */
  problem?: string;
}

/** What the submitted event carries (`SUBMITTED_EVENT`). */
export interface ISubmittedEvent {
  course: string;
  assignment: string;
  submission: string;
  submitted_at: string;
}

export type NoticeType = 'in-progress' | 'success' | 'error' | 'warning';

/** The notification's content for one status. */
export interface INotice {
  message: string;
  type: NoticeType;
  /** The feedback page to offer as the notification's link, if any. */
  link: string | null;
}

export function isFinal(state: GradingState): boolean {
  return FINAL_STATES.includes(state);
}

/** A score as a person writes it: 8, 7.5, 7.25 (never 8.000000001). */
export function formatPoints(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '?';
  }
  return String(Math.round(value * 100) / 100);
}

/** What the learner reads for `status`. */
export function noticeOf(status: ISubmissionStatus): INotice {
  const name = `${status.assignment}: `;
  const link = status.feedback_url || null;
  let notice: INotice;
  switch (status.state) {
    case 'submitted':
      notice = {
        message: `${name}Submitted, waiting for the grader…`,
        type: 'in-progress',
        link: null
      };
      break;
    case 'queued': {
      const ahead = status.ahead ?? 0;
      const place = ahead > 0 ? `${ahead} ahead of you` : 'next in line';
      notice = {
        message: `${name}Queued (${place})`,
        type: 'in-progress',
        link: null
      };
      break;
    }
    case 'grading':
      notice = { message: `${name}Grading…`, type: 'in-progress', link: null };
      break;
    case 'graded': {
      const score = `${formatPoints(status.score)}/${formatPoints(status.max_score)}`;
      const late = status.late ? ' (submitted late)' : '';
      notice = {
        message: `${name}Graded ${score}${late}`,
        type: 'success',
        link
      };
      break;
    }
    default: {
      const why = (status.message || '').trim();
      notice = {
        message: `${name}Could not be graded${why ? `: ${why}` : ''}`,
        type: 'error',
        link
      };
    }
  }
  if (status.problem && !isFinal(status.state)) {
    notice = {
      ...notice,
      message: `${notice.message} (the grader does not answer; still trying)`
    };
  }
  return notice;
}

/**
 * The submitted event's data from one emission of the server's event bus (JupyterLab's
 * `Event.Emission`: the schema's id and the data), or null for any other event or a
 * malformed one.
 */
export function submittedEventOf(emission: {
  schema_id: string;
  [key: string]: unknown;
}): ISubmittedEvent | null {
  if (emission.schema_id !== SUBMITTED_EVENT) {
    return null;
  }
  const { course, assignment, submission, submitted_at } = emission;
  if (
    !isText(course) ||
    !isText(assignment) ||
    !isText(submission) ||
    !isText(submitted_at)
  ) {
    return null;
  }
  return { course, assignment, submission, submitted_at };
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The status the learner sees from the moment the event arrives. */
export function submittedStatus(event: ISubmittedEvent): ISubmissionStatus {
  return {
    id: event.submission,
    course: event.course,
    assignment: event.assignment,
    submitted_at: event.submitted_at,
    state: 'submitted'
  };
}
