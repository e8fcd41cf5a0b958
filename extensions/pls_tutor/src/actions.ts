/**
 * The tutor's buttons in notebooks: "Explain this error" under every error output, and "Hint"
 * in the cell toolbar of nbgrader answer cells only (`nbgrader.solution: true`).
 */
import { Cell, CodeCell, ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { OutputArea } from '@jupyterlab/outputarea';
import { Panel, Widget } from '@lumino/widgets';

import { ITutorError } from './api';
import { ICellInfo, errorOf, isAnswerCell } from './context';

/** What a click asks for; the plugin turns it into a request and opens the panel. */
export interface ITutorActions {
  explain(panel: NotebookPanel, cell: Cell, error: ITutorError): void;
  hint(panel: NotebookPanel, cell: Cell): void;
}

export const EXPLAIN_CLASS = 'pls-tutor-explain';
export const HINT_CLASS = 'pls-tutor-hint';

/** The cells of a notebook panel as nbformat data, and the index of `cell` among them. */
export function cellsOf(panel: NotebookPanel): ICellInfo[] {
  const cells = panel.content.model?.cells;
  const infos: ICellInfo[] = [];
  if (!cells) {
    return infos;
  }
  for (let i = 0; i < cells.length; i++) {
    infos.push(cells.get(i).toJSON() as unknown as ICellInfo);
  }
  return infos;
}

export function indexOf(panel: NotebookPanel, cell: Cell): number {
  return panel.content.widgets.indexOf(cell);
}

/** A small button of the lab's own look. */
function button(
  label: string,
  className: string,
  title: string
): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = `jp-Button jp-mod-styled jp-mod-accept ${className}`;
  node.textContent = label;
  node.title = title;
  return node;
}

/**
 * Keeps an "Explain this error" button under each error output of a notebook, as outputs
 * come and go (running a cell replaces them; a saved notebook opens with them).
 */
export class ErrorButtons {
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _actions: ITutorActions
  ) {
    const notebook = _panel.content;
    const watched = new WeakSet<Cell>();
    const watchAll = () => {
      for (const cell of notebook.widgets) {
        if (cell instanceof CodeCell && !watched.has(cell)) {
          watched.add(cell);
          void cell.ready.then(() => this._watch(cell));
        }
      }
    };
    notebook.model?.cells.changed.connect(() =>
      // The notebook makes the cell widgets after the model changed: look once it has.
      requestAnimationFrame(watchAll)
    );
    void _panel.context.ready.then(watchAll);
    watchAll();
  }

  private _watch(cell: CodeCell): void {
    if (cell.isDisposed) {
      return;
    }
    const area = cell.outputArea;
    const update = () => this._decorate(cell, area);
    // Connected after the output area's own handler: its widgets exist when this runs.
    area.model.changed.connect(update);
    area.outputLengthChanged.connect(update);
    update();
  }

  private _decorate(cell: CodeCell, area: OutputArea): void {
    if (cell.isDisposed || area.isDisposed) {
      return;
    }
    const count = Math.min(area.model.length, area.widgets.length);
    for (let i = 0; i < count; i++) {
      const child = area.widgets[i];
      const error = errorOf(area.model.get(i).toJSON() as Record<string, any>);
      if (!error || !(child instanceof Panel)) {
        continue;
      }
      if (child.node.querySelector(`.${EXPLAIN_CLASS}`)) {
        continue;
      }
      const node = button(
        'Explain this error',
        EXPLAIN_CLASS,
        'Ask the tutor to explain this error'
      );
      node.setAttribute('aria-label', `Explain this error: ${error.ename}`);
      node.addEventListener('click', event => {
        event.stopPropagation();
        this._actions.explain(this._panel, cell, error);
      });
      const holder = new Widget();
      holder.addClass('pls-tutor-explain-holder');
      holder.node.appendChild(node);
      child.addClass('pls-tutor-has-explain');
      child.addWidget(holder);
    }
  }
}

/**
 * The "Hint" item of the cell toolbar: shown on nbgrader answer cells only, and kept right
 * when the cell's metadata changes (an instructor marking a cell, a notebook reloaded).
 */
export class HintButton extends Widget {
  constructor(
    private readonly _cell: Cell,
    private readonly _actions: ITutorActions,
    private readonly _panel: () => NotebookPanel | null
  ) {
    super();
    this.addClass('pls-tutor-hint-item');
    const node = button(
      'Hint',
      HINT_CLASS,
      'Ask the tutor for a hint on this answer'
    );
    node.setAttribute(
      'aria-label',
      'Ask the tutor for a hint on this answer cell'
    );
    node.addEventListener('click', event => {
      event.stopPropagation();
      const panel = this._panel();
      if (panel) {
        this._actions.hint(panel, this._cell);
      }
    });
    this.node.appendChild(node);
    this._sync(_cell.model);
    _cell.model.metadataChanged.connect(() => this._sync(_cell.model));
  }

  private _sync(model: ICellModel): void {
    this.setHidden(!isAnswerCell(model.metadata as Record<string, any>));
  }
}
