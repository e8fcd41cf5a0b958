/**
 * pls-tutor: the studio's tutor in JupyterLab. One plugin wires the tutor panel (right
 * sidebar), the "Explain this error" buttons on error outputs and the "Hint" item of the cell
 * toolbar (declared in schema/plugin.json, shown on nbgrader answer cells only) to the server
 * extension's relay; the panel's "Ask the class" opens a draft on the course board (askclass).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { IAskRequest, ITutorError, TutorClient } from './api';
import { draftOf } from './askclass';
import {
  ErrorButtons,
  HintButton,
  ITutorActions,
  cellsOf,
  indexOf
} from './actions';
import {
  chatRequest,
  explainRequest,
  hintRequest,
  isAnswerCell,
  lastErrorOf,
  placeOf
} from './context';
import { PANEL_ID, TutorPanel } from './panel';

const PLUGIN_ID = 'pls-tutor:plugin';
/** The cell toolbar item's name in schema/plugin.json (`jupyter.lab.toolbars.Cell`). */
export const HINT_TOOLBAR_ITEM = 'pls-tutor-hint';

export namespace CommandIDs {
  export const open = 'pls-tutor:open';
  export const explain = 'pls-tutor:explain-error';
  export const hint = 'pls-tutor:hint';
}

const tutorIcon = new LabIcon({
  name: 'pls-tutor:tutor',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 ' +
    '2 0 0 1-2-2V5a2 2 0 0 1 2-2zm7 11h2v-2h-2zm1-9a3 3 0 0 0-3 3h2a1 1 0 1 1 1.6.8c-.9.6-1.6 ' +
    '1.2-1.6 2.2h2c0-.4.3-.7 1-1.2A3 3 0 0 0 12 5z"/></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The tutor panel, "Explain this error" on error outputs and "Hint" on answer cells.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    IToolbarWidgetRegistry,
    ISettingRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    toolbarRegistry: IToolbarWidgetRegistry | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const client = new TutorClient();
    const activeIndex = (panel: NotebookPanel): number | null => {
      const index = panel.content.activeCellIndex;
      return index >= 0 ? index : null;
    };
    const tutor = new TutorPanel(client, rendermime, {
      location: () => {
        const panel = tracker.currentWidget;
        return panel ? placeOf(panel.context.path, cellsOf(panel)) : null;
      },
      chatRequest: (question: string) => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return null;
        }
        return chatRequest(
          panel.context.path,
          cellsOf(panel),
          activeIndex(panel),
          question
        );
      },
      classDraft: (title: string) => {
        const panel = tracker.currentWidget;
        return panel
          ? draftOf(
              title,
              panel.context.path,
              cellsOf(panel),
              activeIndex(panel)
            )
          : null;
      },
      openTab: (url: string) => {
        window.open(url, '_blank', 'noopener');
      },
      returnFocus: () => {
        const panel = tracker.currentWidget;
        if (panel) {
          app.shell.activateById(panel.id);
          panel.content.activate();
        }
      }
    });
    tutor.title.icon = tutorIcon;
    app.shell.add(tutor, 'right', { rank: 600 });
    if (restorer) {
      restorer.add(tutor, PANEL_ID);
    }
    tracker.currentChanged.connect(() => {
      if (tutor.isVisible) {
        void tutor.refreshStatus();
      }
    });

    const askInPanel = (request: IAskRequest, title: string) => {
      app.shell.activateById(PANEL_ID);
      void tutor.ask(request, title);
    };
    const actions: ITutorActions = {
      explain: (panel: NotebookPanel, cell: Cell, error: ITutorError) => {
        const request = explainRequest(
          panel.context.path,
          cellsOf(panel),
          indexOf(panel, cell),
          error
        );
        askInPanel(request, `Explain this error: ${error.ename}`);
      },
      hint: (panel: NotebookPanel, cell: Cell) => {
        const request = hintRequest(
          panel.context.path,
          cellsOf(panel),
          indexOf(panel, cell)
        );
        askInPanel(request, `Hint for ${request.cell_id ?? 'this cell'}`);
      }
    };
    tracker.widgetAdded.connect((_, panel) => {
      new ErrorButtons(panel, actions);
    });

    const activeError = (): ITutorError | null => {
      const panel = tracker.currentWidget;
      const index = panel ? activeIndex(panel) : null;
      return panel && index !== null
        ? lastErrorOf(cellsOf(panel)[index])
        : null;
    };
    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the tutor',
      icon: tutorIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    app.commands.addCommand(CommandIDs.explain, {
      label: 'Explain this error',
      caption: 'Ask the tutor to explain the error of the active cell',
      isEnabled: () => activeError() !== null,
      isVisible: () => activeError() !== null,
      execute: () => {
        const panel = tracker.currentWidget;
        const cell = tracker.activeCell;
        const error = activeError();
        if (panel && cell && error) {
          actions.explain(panel, cell, error);
        }
      }
    });
    app.commands.addCommand(CommandIDs.hint, {
      label: 'Hint',
      caption: 'Ask the tutor for a hint on this answer cell',
      isEnabled: () => isAnswerCell(tracker.activeCell?.model.metadata),
      isVisible: () => isAnswerCell(tracker.activeCell?.model.metadata),
      execute: () => {
        const panel = tracker.currentWidget;
        const cell = tracker.activeCell;
        if (panel && cell && isAnswerCell(cell.model.metadata)) {
          actions.hint(panel, cell);
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.explain,
      selector: '.jp-Notebook .jp-CodeCell .jp-OutputArea',
      rank: 0
    });
    if (palette) {
      for (const command of [
        CommandIDs.open,
        CommandIDs.explain,
        CommandIDs.hint
      ]) {
        palette.addItem({ command, category: 'Tutor' });
      }
    }

    if (toolbarRegistry) {
      toolbarRegistry.addFactory<Cell>('Cell', HINT_TOOLBAR_ITEM, cell => {
        const panel = () =>
          tracker.find(candidate => candidate.content.widgets.includes(cell)) ??
          null;
        return new HintButton(cell, actions, panel);
      });
    }
    if (settingRegistry) {
      // Loading this plugin's settings registers its `jupyter.lab.toolbars` item.
      void settingRegistry.load(PLUGIN_ID).catch(reason => {
        console.warn(
          'pls-tutor: the cell toolbar item could not be loaded',
          reason
        );
      });
    }
  }
};

export default plugin;
