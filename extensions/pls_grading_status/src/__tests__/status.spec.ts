/**
 * What the learner reads for each grading state, and which events of the server's bus are a
 * submission.
 */
import {
  ISubmissionStatus,
  SUBMITTED_EVENT,
  formatPoints,
  isFinal,
  noticeOf,
  submittedEventOf
} from '../status';

const FEEDBACK = 'https://lms.example.org/courses/python-101/ps1-basics/';

function status(fields: Partial<ISubmissionStatus>): ISubmissionStatus {
  return {
    id: 'a'.repeat(32),
    course: 'python-101',
    assignment: 'ps1-basics',
    submitted_at: '2030-01-01T10:00:00+00:00',
    state: 'queued',
    ...fields
  };
}

describe('noticeOf', () => {
  it('says how many are ahead while queued', () => {
    expect(noticeOf(status({ state: 'queued', ahead: 2 }))).toEqual({
      message: 'ps1-basics: Queued (2 ahead of you)',
      type: 'in-progress',
      link: null
    });
    expect(noticeOf(status({ state: 'queued', ahead: 0 })).message).toBe(
      'ps1-basics: Queued (next in line)'
    );
  });

  it('shows grading in progress', () => {
    expect(noticeOf(status({ state: 'grading', ahead: null }))).toEqual({
      message: 'ps1-basics: Grading…',
      type: 'in-progress',
      link: null
    });
  });

  it('gives the score and the feedback link once graded', () => {
    const graded = status({
      state: 'graded',
      score: 8,
      max_score: 10,
      feedback_url: FEEDBACK
    });
    expect(noticeOf(graded)).toEqual({
      message: 'ps1-basics: Graded 8/10',
      type: 'success',
      link: FEEDBACK
    });
    expect(noticeOf({ ...graded, late: true }).message).toBe(
      'ps1-basics: Graded 8/10 (submitted late)'
    );
  });

  it("gives the grader's sentence when it could not be graded", () => {
    const failed = status({
      state: 'could-not-be-graded',
      message: "a problem on the grader's side."
    });
    expect(noticeOf(failed)).toEqual({
      message:
        "ps1-basics: Could not be graded: a problem on the grader's side.",
      type: 'error',
      link: null
    });
    const invalid = status({
      state: 'invalid',
      message: 'ps1-basics.ipynb is not a notebook.',
      feedback_url: FEEDBACK
    });
    expect(noticeOf(invalid)).toEqual({
      message:
        'ps1-basics: Could not be graded: ps1-basics.ipynb is not a notebook.',
      type: 'error',
      link: FEEDBACK
    });
  });

  it('says so while the grader does not answer, keeping the last state', () => {
    const waiting = status({ state: 'queued', ahead: 1, problem: 'down' });
    expect(noticeOf(waiting).message).toBe(
      'ps1-basics: Queued (1 ahead of you) (the grader does not answer; still trying)'
    );
  });
});

describe('formatPoints', () => {
  it('writes scores as a person does', () => {
    expect([8, 7.5, 7.25, 0.1 + 0.2, null].map(formatPoints)).toEqual([
      '8',
      '7.5',
      '7.25',
      '0.3',
      '?'
    ]);
  });
});

describe('isFinal', () => {
  it('ends with a result or a refusal, never while waiting', () => {
    expect(
      (
        [
          'submitted',
          'queued',
          'grading',
          'graded',
          'could-not-be-graded',
          'invalid'
        ] as const
      ).map(isFinal)
    ).toEqual([false, false, false, true, true, true]);
  });
});

describe('submittedEventOf', () => {
  const data = {
    course: 'python-101',
    assignment: 'ps1-basics',
    submission: 'b'.repeat(32),
    submitted_at: '2030-01-01T10:00:00+00:00'
  };

  it("reads the exchange's event", () => {
    expect(submittedEventOf({ schema_id: SUBMITTED_EVENT, ...data })).toEqual(
      data
    );
  });

  it('ignores other events and malformed ones', () => {
    expect(
      submittedEventOf({
        schema_id:
          'https://events.jupyter.org/jupyter_server/contents_service/v1',
        ...data
      })
    ).toBeNull();
    expect(
      submittedEventOf({ schema_id: SUBMITTED_EVENT, ...data, submission: 7 })
    ).toBeNull();
  });
});
