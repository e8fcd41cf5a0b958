/**
 * What a request tells the tutor about where the learner is: course and assignment from the
 * path, the notebook's cell ids and grade ids, the nbgrader cell id from metadata, and the
 * markdown before the cell.
 */
import {
  ICellInfo,
  MAX_IDS,
  chatRequest,
  explainRequest,
  hintRequest,
  identityOf,
  isAnswerCell,
  lastErrorOf,
  locate,
  placeOf,
  precedingMarkdown
} from '../context';

const answerMetadata = {
  nbgrader: { grade_id: 'ps1-celsius-answer', solution: true, grade: false }
};

const assignmentCells: ICellInfo[] = [
  {
    id: 'ps1-01',
    cell_type: 'markdown',
    source: '# Problem set 1',
    metadata: { nbgrader: { grade_id: 'ps1-instructions', solution: false } }
  },
  {
    id: 'ps1-02',
    cell_type: 'markdown',
    source: ['## Problem 1\n', 'Write a function.']
  },
  {
    id: 'ps1-03',
    cell_type: 'code',
    source: 'def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32',
    metadata: answerMetadata,
    outputs: []
  },
  {
    cell_type: 'code',
    source: 'celsius_to_fahrenheit(x)',
    metadata: {},
    outputs: [
      { output_type: 'stream', name: 'stdout', text: 'hi' },
      {
        output_type: 'error',
        ename: 'NameError',
        evalue: "name 'x' is not defined",
        traceback: ['Traceback', "NameError: name 'x' is not defined"]
      }
    ]
  }
];

describe('locate', () => {
  it('reads the course and assignment of a fetched assignment notebook', () => {
    expect(locate('python-101/ps1-basics/ps1-basics.ipynb', true)).toEqual({
      course: 'python-101',
      assignment: 'ps1-basics'
    });
  });

  it('gives a lesson its course but no assignment', () => {
    expect(locate('python-101/lessons/01-basics.ipynb', false)).toEqual({
      course: 'python-101',
      assignment: null
    });
  });

  it('knows no course for a notebook outside a course folder', () => {
    expect(locate('scratch.ipynb', false)).toEqual({
      course: null,
      assignment: null
    });
  });
});

describe('identityOf', () => {
  it('gives the cell ids and grade ids, in order, without commas or blanks', () => {
    const cells: ICellInfo[] = [
      ...assignmentCells,
      { id: 'a,b', cell_type: 'code', source: '' },
      { id: '', cell_type: 'code', source: '' },
      {
        cell_type: 'code',
        source: '',
        metadata: { nbgrader: { grade_id: 'x,y' } }
      }
    ];
    expect(identityOf(cells)).toEqual({
      cell_ids: ['ps1-01', 'ps1-02', 'ps1-03'],
      grade_ids: ['ps1-instructions', 'ps1-celsius-answer']
    });
  });

  it('sends at most MAX_IDS of each, the first ones', () => {
    const many: ICellInfo[] = Array.from({ length: MAX_IDS + 5 }, (_, i) => ({
      id: `cell-${i}`,
      cell_type: 'code',
      source: ''
    }));
    const { cell_ids } = identityOf(many);
    expect(cell_ids.length).toBe(MAX_IDS);
    expect(cell_ids[0]).toBe('cell-0');
  });

  it('is part of where the panel asks the status of', () => {
    expect(
      placeOf('python-101/ps1-basics/ps1-basics.ipynb', assignmentCells)
    ).toEqual({
      course: 'python-101',
      assignment: 'ps1-basics',
      identity: {
        cell_ids: ['ps1-01', 'ps1-02', 'ps1-03'],
        grade_ids: ['ps1-instructions', 'ps1-celsius-answer']
      }
    });
  });
});

describe('answer cells', () => {
  it('are the cells nbgrader marks as solution cells, and only those', () => {
    expect(isAnswerCell(answerMetadata)).toBe(true);
    expect(
      isAnswerCell({ nbgrader: { grade_id: 'ps1-tests', solution: false } })
    ).toBe(false);
    expect(isAnswerCell({})).toBe(false);
    expect(isAnswerCell(undefined)).toBe(false);
  });
});

describe('precedingMarkdown', () => {
  it('joins the markdown cells before the cell, in order', () => {
    expect(precedingMarkdown(assignmentCells, 2)).toBe(
      '# Problem set 1\n\n## Problem 1\nWrite a function.'
    );
  });

  it('keeps the end of the markdown when there is too much', () => {
    expect(precedingMarkdown(assignmentCells, 2, 17)).toBe('Write a function.');
  });
});

describe('requests', () => {
  const path = 'python-101/ps1-basics/ps1-basics.ipynb';

  it('explain carries the cell, its error, the markdown and where it is', () => {
    const error = lastErrorOf(assignmentCells[3])!;
    expect(explainRequest(path, assignmentCells, 3, error)).toEqual({
      mode: 'explain',
      course: 'python-101',
      assignment: 'ps1-basics',
      notebook: path,
      cell_id: null,
      cell_source: 'celsius_to_fahrenheit(x)',
      error: {
        ename: 'NameError',
        evalue: "name 'x' is not defined",
        traceback: ['Traceback', "NameError: name 'x' is not defined"]
      },
      context_markdown: '# Problem set 1\n\n## Problem 1\nWrite a function.',
      question: null,
      cell_ids: ['ps1-01', 'ps1-02', 'ps1-03'],
      grade_ids: ['ps1-instructions', 'ps1-celsius-answer']
    });
  });

  it('carries the notebook ids wherever the notebook was saved', () => {
    const request = chatRequest(
      'python-101/my-copy.ipynb',
      assignmentCells,
      2,
      'Why?'
    );
    expect(request.assignment).toBeNull();
    expect(request.cell_ids).toEqual(['ps1-01', 'ps1-02', 'ps1-03']);
    expect(request.grade_ids).toEqual([
      'ps1-instructions',
      'ps1-celsius-answer'
    ]);
  });

  it('hint names the answer cell by its nbgrader grade_id', () => {
    const request = hintRequest(path, assignmentCells, 2);
    expect(request.mode).toBe('hint');
    expect(request.cell_id).toBe('ps1-celsius-answer');
    expect(request.error).toBeNull();
  });

  it('chat carries the question and the active cell, if any', () => {
    const request = chatRequest(
      path,
      assignmentCells,
      null,
      'What is a float?'
    );
    expect(request).toMatchObject({
      mode: 'chat',
      question: 'What is a float?',
      cell_source: null,
      course: 'python-101'
    });
  });
});
