/**
 * What the tutor needs to know about where the learner is: the course and assignment (from the
 * notebook's path), the notebook's cell ids and nbgrader grade ids, the nbgrader cell (from its
 * metadata), the cell, its error and the markdown before it. Pure functions over
 * nbformat-shaped data, so they are tested without a running lab.
 *
 * The path only hints: the tutor places a question by the notebook's ids and text, checked
 * against the course's own notebooks (docs/tutor.md, "Which policy applies"), so a notebook
 * saved outside `<course>/<assignment>/` keeps its assignment's policy.
 */
import { IAskRequest, INotebookIdentity, ITutorError, TutorMode } from './api';

/** A cell as nbformat stores it (a notebook model's `toJSON()` gives these). */
export interface ICellInfo {
  id?: string;
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, any>;
  outputs?: Array<Record<string, any>>;
}

/** Where a notebook sits in the learner's work folder. */
export interface ILocation {
  course: string | null;
  assignment: string | null;
  /** The notebook's ids, which the tutor checks against the course's notebooks. */
  identity?: INotebookIdentity;
}

/**
 * At most this many ids of each kind are sent (the first ones): a notebook's own cells come
 * first, and `GET status` carries them in its URL.
 */
export const MAX_IDS = 100;

/**
 * Markdown sent with a request, at most this many characters (the end kept: the text right
 * before the cell matters most). The tutor trims again to its own budget and says so.
 */
export const MAX_CONTEXT_CHARS = 20_000;

/**
 * The course and assignment of a notebook from its path, relative to the work folder. The hub
 * puts each course in a folder of its slug (`<course>/lessons/...`) and nbgrader fetches an
 * assignment into `<course>/<assignment>/`. A notebook counts as part of an assignment only
 * when it holds nbgrader cells: lessons sit two levels down as well, and the tutor must not
 * apply an assignment's policy to a lesson.
 */
export function locate(path: string, hasNbgraderCells: boolean): ILocation {
  const parts = path.split('/').filter(part => part.length > 0);
  if (parts.length < 2) {
    return { course: null, assignment: null };
  }
  const assignment = parts.length >= 3 && hasNbgraderCells ? parts[1] : null;
  return { course: parts[0], assignment };
}

export function sourceOf(cell: ICellInfo): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** nbgrader's metadata of a cell, when it has any. */
export function nbgraderOf(
  metadata: Record<string, any> | undefined
): Record<string, any> | null {
  const nbgrader = metadata?.nbgrader;
  return nbgrader && typeof nbgrader === 'object' ? nbgrader : null;
}

/** An nbgrader answer cell: the learner writes the solution here (`solution: true`). */
export function isAnswerCell(
  metadata: Record<string, any> | undefined
): boolean {
  return nbgraderOf(metadata)?.solution === true;
}

/** The nbgrader cell id (`grade_id`), which names the cell to the tutor and the grader. */
export function gradeId(
  metadata: Record<string, any> | undefined
): string | null {
  const id = nbgraderOf(metadata)?.grade_id;
  return typeof id === 'string' && id ? id : null;
}

export function hasNbgraderCells(cells: ICellInfo[]): boolean {
  return cells.some(cell => nbgraderOf(cell.metadata) !== null);
}

/**
 * The notebook's cell ids (nbformat's `id`) and nbgrader grade ids, which name the course
 * notebook it is a copy of. Ids with a comma are left out (`GET status` lists them
 * comma-separated).
 */
export function identityOf(cells: ICellInfo[]): INotebookIdentity {
  const usable = (id: unknown): id is string =>
    typeof id === 'string' && id.length > 0 && !id.includes(',');
  const cellIds = cells.map(cell => cell.id).filter(usable);
  const gradeIds = cells.map(cell => gradeId(cell.metadata)).filter(usable);
  return {
    cell_ids: cellIds.slice(0, MAX_IDS),
    grade_ids: gradeIds.slice(0, MAX_IDS)
  };
}

/** Where the notebook at `path` is, with its ids: what the panel's status asks about. */
export function placeOf(path: string, cells: ICellInfo[]): ILocation {
  return {
    ...locate(path, hasNbgraderCells(cells)),
    identity: identityOf(cells)
  };
}

/** The markdown cells before `index`, in order, keeping the end when there is too much. */
export function precedingMarkdown(
  cells: ICellInfo[],
  index: number,
  limit: number = MAX_CONTEXT_CHARS
): string {
  const text = cells
    .slice(0, Math.max(0, index))
    .filter(cell => cell.cell_type === 'markdown')
    .map(sourceOf)
    .join('\n\n');
  return text.length > limit ? text.slice(text.length - limit) : text;
}

/** The error of an `error` output, as the tutor takes it; null for any other output. */
export function errorOf(output: Record<string, any>): ITutorError | null {
  if (output?.output_type !== 'error') {
    return null;
  }
  return {
    ename: String(output.ename ?? ''),
    evalue: String(output.evalue ?? ''),
    traceback: Array.isArray(output.traceback)
      ? output.traceback.map(String)
      : []
  };
}

/** The last error among a cell's outputs (a cell shows at most one in practice). */
export function lastErrorOf(cell: ICellInfo): ITutorError | null {
  const errors = (cell.outputs ?? []).map(errorOf).filter(Boolean);
  return (errors[errors.length - 1] as ITutorError | undefined) ?? null;
}

/** A request about the cell at `index` of the notebook at `path` (null: no cell). */
export function requestFor(
  mode: TutorMode,
  path: string | null,
  cells: ICellInfo[],
  index: number | null,
  extra: { error?: ITutorError | null; question?: string | null } = {}
): IAskRequest {
  const cell = index !== null ? cells[index] : undefined;
  const where = path
    ? locate(path, hasNbgraderCells(cells))
    : { course: null, assignment: null };
  return {
    mode,
    course: where.course,
    assignment: where.assignment,
    notebook: path,
    cell_id: cell ? gradeId(cell.metadata) : null,
    cell_source: cell ? sourceOf(cell) : null,
    error: extra.error ?? null,
    context_markdown: index !== null ? precedingMarkdown(cells, index) : null,
    question: extra.question ?? null,
    ...identityOf(cells)
  };
}

/** "Explain this error" on the cell at `index`. */
export function explainRequest(
  path: string,
  cells: ICellInfo[],
  index: number,
  error: ITutorError
): IAskRequest {
  return requestFor('explain', path, cells, index, { error });
}

/** "Hint" on the answer cell at `index`. */
export function hintRequest(
  path: string,
  cells: ICellInfo[],
  index: number
): IAskRequest {
  return requestFor('hint', path, cells, index);
}

/** A question typed in the panel, about the active cell of the open notebook, if any. */
export function chatRequest(
  path: string | null,
  cells: ICellInfo[],
  index: number | null,
  question: string
): IAskRequest {
  return requestFor('chat', path, cells, index, { question });
}
