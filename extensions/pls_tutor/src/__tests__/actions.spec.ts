/**
 * The "Hint" item of the cell toolbar is there on nbgrader answer cells only, and follows the
 * cell's metadata when it changes.
 */
import { Signal } from '@lumino/signaling';

import { HintButton, ITutorActions } from '../actions';

/** The parts of a cell the Hint item reads: its metadata and the signal that it changed. */
function fakeCell(metadata: Record<string, any>) {
  const model = {
    metadata,
    metadataChanged: new Signal<any, any>({})
  };
  return { model } as any;
}

const actions: ITutorActions = { explain: jest.fn(), hint: jest.fn() };
const notebook = {} as any;

describe('HintButton', () => {
  it('is shown on an answer cell and asks for a hint on that cell', () => {
    const cell = fakeCell({
      nbgrader: { grade_id: 'ps1-celsius-answer', solution: true }
    });
    const item = new HintButton(cell, actions, () => notebook);
    expect(item.isHidden).toBe(false);
    item.node.querySelector('button')!.click();
    expect(actions.hint).toHaveBeenCalledWith(notebook, cell);
  });

  it('is hidden on test cells, read-only cells and ordinary cells', () => {
    for (const metadata of [
      {
        nbgrader: {
          grade_id: 'ps1-celsius-tests',
          solution: false,
          grade: true
        }
      },
      { nbgrader: { grade_id: 'ps1-instructions', locked: true } },
      {}
    ]) {
      expect(
        new HintButton(fakeCell(metadata), actions, () => notebook).isHidden
      ).toBe(true);
    }
  });

  it('appears when a cell becomes an answer cell', () => {
    const cell = fakeCell({});
    const item = new HintButton(cell, actions, () => notebook);
    cell.model.metadata = {
      nbgrader: { grade_id: 'new-answer', solution: true }
    };
    cell.model.metadataChanged.emit({});
    expect(item.isHidden).toBe(false);
  });
});
