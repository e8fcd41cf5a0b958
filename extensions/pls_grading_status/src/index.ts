/**
 * pls-grading-status: after a submission from nbgrader's Assignments panel, one JupyterLab
 * notification follows it (queued with its place in line, grading, then the score with a link
 * to the feedback, or why it could not be graded).
 *
 * The submission is announced on the server's event bus by the exchange that stored it
 * (`SUBMITTED_EVENT`); JupyterLab's event manager brings it here over the socket it keeps
 * open anyway. Beyond one look when the page loads (a submission still being graded), the
 * server is asked nothing until something was submitted.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import { fetchStatuses } from './api';
import { INotifier, SubmissionFollower } from './follower';
import { submittedEventOf } from './status';

const PLUGIN_ID = 'pls-grading-status:plugin';

/** JupyterLab's notifications (one per submission, updated in place). */
export const labNotifier: INotifier = {
  emit: (message, type, options) => Notification.emit(message, type, options),
  update: args => Notification.update(args)
};

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A notification that follows each submission to the grader until it is graded.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const settings = app.serviceManager.serverSettings;
    const follower = new SubmissionFollower({
      fetch: () => fetchStatuses(settings),
      notifier: labNotifier,
      open: url => window.open(url, '_blank', 'noopener')
    });
    app.serviceManager.events.stream.connect((_, emission) => {
      const event = submittedEventOf(emission);
      if (event) {
        follower.submitted(event);
      }
    });
    void follower.start();
  }
};

export default plugin;
