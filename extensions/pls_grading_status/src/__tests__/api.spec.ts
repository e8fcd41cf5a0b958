/**
 * Reading the server's answer: the list, or an error with the server's sentence.
 */
import { StatusRequestError, readStatuses } from '../api';

function jsonResponse(status: number, body: unknown): Response {
  return {
    status,
    ok: status < 400,
    json: async () => {
      if (typeof body === 'string') {
        throw new SyntaxError('not JSON');
      }
      return body;
    }
  } as unknown as Response;
}

describe('readStatuses', () => {
  it('gives the submissions the server follows', async () => {
    const listed = [{ id: 'a', state: 'queued', ahead: 1 }];
    await expect(
      readStatuses(jsonResponse(200, { submissions: listed }))
    ).resolves.toEqual(listed);
  });

  it("turns a refusal into an error with the server's sentence", async () => {
    const refused = readStatuses(
      jsonResponse(503, { error: 'x', message: 'No grader here.' })
    );
    await expect(refused).rejects.toEqual(
      new StatusRequestError(503, 'No grader here.')
    );
  });

  it('refuses an answer it cannot read', async () => {
    await expect(
      readStatuses(jsonResponse(200, '<html>'))
    ).rejects.toBeInstanceOf(StatusRequestError);
    await expect(readStatuses(jsonResponse(502, '<html>'))).rejects.toThrow(
      'HTTP 502'
    );
  });
});
