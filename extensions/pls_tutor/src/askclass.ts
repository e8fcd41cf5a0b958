/**
 * "Ask the class": the learner's current question as a draft thread on the course board, opened
 * in a new tab of the LMS. Nothing is posted from here: the LMS's draft page shows the draft and
 * the learner sends it (or not) themselves.
 *
 * Where the draft goes comes from the tutor's `GET status` (`ask_class`: the draft page of the
 * board of the course the notebook belongs to, on the LMS's public URL, and the LMS page of its
 * lesson or assignment), so the LMS's address has one owner, the studio's `LMS_PUBLIC_URL`.
 *
 * What the draft carries: a title, the notebook's file name, the cell's id and number, the
 * cell's error and its traceback, without colours (ANSI) and without the code lines of the
 * notebook's own cells, which IPython prints in a traceback's frames. No code of the learner's
 * goes in: not the cell, not a graded answer; the learner pastes what they want to show.
 */
import { IAskClass, ITutorError } from './api';
import { ICellInfo, gradeId, lastErrorOf } from './context';

/** What a draft says, before it becomes the draft page's query. */
export interface IClassDraft {
  title: string;
  /** The notebook's file name (not its folders). */
  notebook: string | null;
  /** The cell's nbgrader grade id, or its nbformat id. */
  cellId: string | null;
  /** The cell's number in the notebook, from 1. */
  cellNumber: number | null;
  error: ITutorError | null;
}

/** A draft page's URL stays below this (proxies refuse request lines past 8 KiB). */
export const MAX_URL_CHARS = 6000;
export const MAX_TITLE_CHARS = 200;
/** What is said instead of the code lines of a notebook cell's frame. */
export const CODE_LEFT_OUT = "    (this cell's code is not included)";

// ANSI escape sequences: the colours IPython puts in tracebacks.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;
// A frame of the notebook's own cells, as IPython names them (8.x, 7.x, older).
const NOTEBOOK_FRAME =
  /^\s*(Cell In\s*\[|Input In\s*\[|(File\s+)?"?<ipython-input-)/;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Whether a traceback entry is a frame of one of the notebook's cells. */
export function isNotebookFrame(entry: string): boolean {
  return NOTEBOOK_FRAME.test(stripAnsi(entry));
}

/**
 * An error's traceback as plain text: colours stripped, each frame of the notebook's cells cut
 * to its first line (which cell, which line) and the error line at the end left out (the draft
 * carries `ename: evalue` on its own). Frames of library files keep their lines.
 */
export function tracebackText(error: ITutorError): string {
  const last = `${error.ename}: ${error.evalue}`.trim();
  const lines: string[] = [];
  for (const entry of error.traceback) {
    const text = stripAnsi(entry).replace(/\n+$/, '');
    if (isNotebookFrame(text)) {
      lines.push(text.trimStart().split('\n')[0], CODE_LEFT_OUT);
    } else {
      lines.push(text);
    }
  }
  while (lines.length && lines[lines.length - 1].trim() === last) {
    lines.pop();
  }
  return lines.join('\n');
}

/** The draft of a question about the cell at `index` of the notebook at `path`. */
export function draftOf(
  title: string,
  path: string | null,
  cells: ICellInfo[],
  index: number | null
): IClassDraft {
  const cell = index !== null ? cells[index] : undefined;
  const name = path ? (path.split('/').pop() ?? null) : null;
  return {
    title,
    notebook: name || null,
    cellId: cell ? (gradeId(cell.metadata) ?? cell.id ?? null) : null,
    cellNumber: cell && index !== null ? index + 1 : null,
    error: cell ? lastErrorOf(cell) : null
  };
}

/**
 * The draft page's URL: `ask_class.url` with the draft as its query (`title`, `about`, `cell`,
 * `n`, `notebook`, `error`, `traceback`). A traceback too long for the URL keeps its end (the
 * frames nearest the error).
 */
export function draftUrl(askClass: IAskClass, draft: IClassDraft): string {
  const title = draft.title.trim().slice(0, MAX_TITLE_CHARS);
  const fields: Array<[string, string | null]> = [
    ['title', title],
    ['about', askClass.about],
    ['cell', draft.cellId],
    ['n', draft.cellNumber !== null ? String(draft.cellNumber) : null],
    ['notebook', draft.notebook],
    [
      'error',
      draft.error
        ? stripAnsi(`${draft.error.ename}: ${draft.error.evalue}`).slice(0, 500)
        : null
    ]
  ];
  const build = (traceback: string): string => {
    const url = new URL(askClass.url);
    for (const [name, value] of fields) {
      if (value) {
        url.searchParams.set(name, value);
      }
    }
    if (traceback) {
      url.searchParams.set('traceback', traceback);
    }
    return url.toString();
  };
  let traceback = draft.error ? tracebackText(draft.error) : '';
  let url = build(traceback);
  while (url.length > MAX_URL_CHARS && traceback) {
    const keep = Math.floor(traceback.length / 2);
    traceback = keep > 0 ? '…' + traceback.slice(traceback.length - keep) : '';
    url = build(traceback);
  }
  return url;
}
