/**
 * The grading status as the browser gets it: `GET /pls-grading-status/submissions` of this
 * server, which asks the grader with the server's own hub token for the submissions made here.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ISubmissionStatus } from './status';

/** The server extension's route, below the server's base URL. */
export const STATUS_PATH = 'pls-grading-status/submissions';

/** A failed request, with the server's sentence when it gave one. */
export class StatusRequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/** The submissions this server follows, newest first, with their status. */
export async function fetchStatuses(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<ISubmissionStatus[]> {
  const url = URLExt.join(settings.baseUrl, STATUS_PATH);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
  } catch (error) {
    throw new StatusRequestError(0, 'This JupyterLab server does not answer.');
  }
  return readStatuses(response);
}

/** The list from an answer of `GET /pls-grading-status/submissions`. */
export async function readStatuses(
  response: Response
): Promise<ISubmissionStatus[]> {
  let body: any = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string'
        ? body.message
        : `The grading status is not available (HTTP ${response.status}).`;
    throw new StatusRequestError(response.status, message);
  }
  if (!body || !Array.isArray(body.submissions)) {
    throw new StatusRequestError(
      response.status,
      'The grading status came in a form this page cannot read.'
    );
  }
  return body.submissions as ISubmissionStatus[];
}
