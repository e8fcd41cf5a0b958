/**
 * "Ask the class": the draft page's URL built from the tutor's `ask_class`, the question, the
 * cell and its error; the traceback without colours and without the notebook's code; no code
 * of the learner's at all, graded answer cells' least of all.
 */
import { IAskClass, ITutorError } from '../api';
import {
  CODE_LEFT_OUT,
  MAX_URL_CHARS,
  draftOf,
  draftUrl,
  stripAnsi,
  tracebackText
} from '../askclass';
import { ICellInfo } from '../context';

const ANSWER =
  'def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + fahrenheit';
const STARTER = 'import math\nprint(math.tau)';

/** IPython 8's traceback of a NameError raised in an answer cell (colours included). */
const nameError: ITutorError = {
  ename: 'NameError',
  evalue: "name 'fahrenheit' is not defined",
  traceback: [
    '\u001b[0;31m---------------------------------------------------------------------------\u001b[0m',
    '\u001b[0;31mNameError\u001b[0m                                 Traceback (most recent call last)',
    'Cell \u001b[0;32mIn[3], line 4\u001b[0m\n\u001b[1;32m      1\u001b[0m ' +
      'def celsius_to_fahrenheit(c):\n\u001b[0;32m----> 2\u001b[0m     return c * 9 / 5 + ' +
      'fahrenheit\n',
    'File \u001b[0;32m/opt/conda/lib/python3.12/json/__init__.py:346\u001b[0m, in ' +
      'loads(s)\n\u001b[1;32m    344\u001b[0m     return _default_decoder.decode(s)\n',
    "\u001b[0;31mNameError\u001b[0m: name 'fahrenheit' is not defined"
  ]
};

const cells: ICellInfo[] = [
  { id: 'ps1-01', cell_type: 'markdown', source: '# Problem set 1' },
  { id: 'ps1-02', cell_type: 'code', source: STARTER, outputs: [] },
  {
    id: 'ps1-03',
    cell_type: 'code',
    source: ANSWER,
    metadata: {
      nbgrader: { grade_id: 'ps1-celsius-answer', solution: true, grade: false }
    },
    outputs: [{ output_type: 'error', ...nameError }]
  }
];

const askClass: IAskClass = {
  url: 'https://studio.example.org/courses/python-101/board/ask/',
  about: 'ps1-basics'
};

function query(url: string): URLSearchParams {
  return new URL(url).searchParams;
}

describe('Ask the class', () => {
  it('opens the board draft of the notebook’s course with the question, anchor and cell', () => {
    const draft = draftOf(
      'Why is fahrenheit not defined?',
      'python-101/ps1-basics/ps1-basics.ipynb',
      cells,
      2
    );
    const url = draftUrl(askClass, draft);
    expect(url.startsWith(askClass.url + '?')).toBe(true);
    const q = query(url);
    expect(q.get('title')).toBe('Why is fahrenheit not defined?');
    expect(q.get('about')).toBe('ps1-basics');
    expect(q.get('cell')).toBe('ps1-celsius-answer');
    expect(q.get('n')).toBe('3');
    expect(q.get('notebook')).toBe('ps1-basics.ipynb');
    expect(q.get('error')).toBe("NameError: name 'fahrenheit' is not defined");
  });

  it('includes the traceback of the cell’s error without colours', () => {
    const q = query(draftUrl(askClass, draftOf('Q', 'nb.ipynb', cells, 2)));
    const traceback = q.get('traceback')!;
    expect(traceback).toContain('Traceback (most recent call last)');
    expect(traceback).toContain('Cell In[3], line 4');
    expect(traceback).toContain('json/__init__.py:346');
    expect(traceback).not.toContain('\u001b');
    expect(traceback).not.toContain('[0;31m');
  });

  it('never includes the code of a graded answer cell, not even from its traceback', () => {
    const url = draftUrl(askClass, draftOf('Q', 'nb.ipynb', cells, 2));
    const everything = decodeURIComponent(url.replace(/\+/g, ' '));
    expect(everything).not.toContain('def celsius_to_fahrenheit');
    expect(everything).not.toContain('return c * 9 / 5');
    expect(query(url).get('traceback')).toContain(CODE_LEFT_OUT.trim());
  });

  it('includes no code of a cell that is not graded either', () => {
    const url = draftUrl(askClass, draftOf('Q', 'nb.ipynb', cells, 1));
    const q = query(url);
    expect(decodeURIComponent(url)).not.toContain('math.tau');
    expect(q.get('cell')).toBe('ps1-02');
    expect(q.has('traceback')).toBe(false);
    expect(q.has('error')).toBe(false);
  });

  it('leaves out what it does not know', () => {
    const url = draftUrl(
      { ...askClass, about: null },
      draftOf('Loops?', null, [], null)
    );
    expect([...query(url).keys()]).toEqual(['title']);
  });

  it('keeps the URL short enough for a proxy, the traceback’s end kept', () => {
    const long: ITutorError = {
      ename: 'RecursionError',
      evalue: 'maximum recursion depth exceeded',
      traceback: [
        ...Array.from(
          { length: 3000 },
          (_, i) => `File /lib/mod.py:${i}, in f()\n    f()`
        ),
        'File /lib/last.py:1, in g()'
      ]
    };
    const url = draftUrl(askClass, {
      title: 'Deep',
      notebook: null,
      cellId: null,
      cellNumber: null,
      error: long
    });
    expect(url.length).toBeLessThanOrEqual(MAX_URL_CHARS);
    expect(query(url).get('traceback')).toMatch(/last\.py:1, in g\(\)$/);
  });

  it('strips colours and cuts notebook frames to where they are', () => {
    expect(stripAnsi('\u001b[0;31mNameError\u001b[0m')).toBe('NameError');
    expect(
      tracebackText({
        ename: 'SyntaxError',
        evalue: 'invalid syntax',
        traceback: [
          '  Cell In[1], line 1\n    def f(x) return x\n             ^\n',
          'SyntaxError: invalid syntax\n'
        ]
      })
    ).toBe(`Cell In[1], line 1\n${CODE_LEFT_OUT}`);
    expect(
      tracebackText({
        ename: 'ZeroDivisionError',
        evalue: 'division by zero',
        traceback: [
          '<ipython-input-2-abc> in <module>\n----> 1 secret = 1 / 0\n',
          'Input In [4], in <cell line: 1>()\n----> 1 secret()\n'
        ]
      })
    ).not.toContain('secret');
  });
});
