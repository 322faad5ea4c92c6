// The bordered tables of the terminal reports: fixed column widths, text wrapped at spaces, cells
// that span columns, box-drawing junctions that follow the spans. They are drawn as cli-table3
// 0.6.5 drew them (the project's renderer before this module, so the reports kept their shape),
// without its cost: cli-table3 measured each cell's whole text again, character by character,
// for every line it drew, 70 ms of a doctor report (docs/benchmark.md "Start-up").

/** A cell over `colSpan` columns; a plain string or number fills one. */
export interface SpanCell {
  content: string;
  colSpan: number;
}
export type TableCell = string | number | SpanCell;
export type TableRow = TableCell[];

export interface TableLayout {
  head: readonly string[];
  colWidths: readonly number[];
  /** No line between body rows (the head keeps its own). */
  compact: boolean;
}

const ANSI = /\u001b\[(?:\d*;){0,5}\d*m/g;
const EMOJI = /\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*/gu;
const PADDING = 1;

/** East Asian wide and fullwidth code points (Unicode's EastAsianWidth W and F): two columns. */
function isWide(code: number): boolean {
  return (
    code >= 0x1100 &&
    (code <= 0x115f ||
      code === 0x2329 ||
      code === 0x232a ||
      (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
      (code >= 0x3250 && code <= 0x4dbf) ||
      (code >= 0x4e00 && code <= 0xa4c6) ||
      (code >= 0xa960 && code <= 0xa97c) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe10 && code <= 0xfe19) ||
      (code >= 0xfe30 && code <= 0xfe6b) ||
      (code >= 0xff01 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x1b000 && code <= 0x1b001) ||
      (code >= 0x1f200 && code <= 0x1f251) ||
      (code >= 0x20000 && code <= 0x3fffd))
  );
}

/** Columns a code point takes: none for controls and combining accents, two for wide ones. */
function codePointWidth(code: number): number {
  if (code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0x300 && code <= 0x36f)) return 0;
  return isWide(code) ? 2 : 1;
}

/** Columns a line of text takes on a terminal: colour codes take none, an emoji two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(ANSI, '').replace(EMOJI, '  ')) width += codePointWidth(ch.codePointAt(0)!);
  return width;
}

/** Words onto lines of at most `max` columns; a word longer than that gets a line of its own. */
function wrapLine(max: number, text: string): string[] {
  const parts = text.split(/(\s+)/g);
  const lines: string[] = [];
  let line: string[] = [];
  let width = 0;
  let space: string | undefined;
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i]!;
    let next = width + displayWidth(word);
    if (width > 0 && space) next += space.length;
    if (next > max) {
      if (width !== 0) lines.push(line.join(''));
      line = [word];
      width = displayWidth(word);
    } else {
      line.push(space ?? '', word);
      width = next;
    }
    space = parts[i + 1];
  }
  if (width) lines.push(line.join(''));
  return lines;
}

/** The longest start of `text` within `max` columns, colour codes kept. */
function cut(text: string, max: number): string {
  let out = '';
  let width = 0;
  for (const piece of text.split(/(\u001b\[(?:\d*;){0,5}\d*m)/)) {
    if (piece.startsWith('\u001b[')) {
      out += piece;
      continue;
    }
    for (const ch of piece) {
      const w = displayWidth(ch);
      if (width + w > max) return out;
      out += ch;
      width += w;
    }
  }
  return out;
}

/** A line in `width` columns: cut with an ellipsis when longer, padded with spaces when shorter. */
function fitToWidth(line: string, width: number): string {
  const fitted = displayWidth(line) <= width ? line : `${cut(line, width - 1)}…`;
  return fitted + ' '.repeat(Math.max(0, width - displayWidth(fitted)));
}

interface PlacedCell {
  column: number;
  span: number;
  lines: string[];
}

export class TextTable {
  readonly rows: TableRow[] = [];
  readonly #layout: TableLayout;

  constructor(layout: TableLayout) {
    this.#layout = layout;
  }

  push(...rows: TableRow[]): void {
    this.rows.push(...rows);
  }

  toString(): string {
    const { colWidths, compact, head } = this.#layout;
    const rows = (head.length ? [head as TableRow, ...this.rows] : this.rows).map((row) => this.#place(row));
    // Where a row has a border between cells: every column a cell starts at, but the first.
    const starts = rows.map((row) => new Set(row.map((cell) => cell.column).filter((column) => column > 0)));
    const rule = (above: Set<number> | undefined, below: Set<number> | undefined) => {
      const [left, right] = !above ? ['┌', '┐'] : !below ? ['└', '┘'] : ['├', '┤'];
      let line = left;
      colWidths.forEach((width, column) => {
        if (column > 0) {
          const up = above?.has(column) ?? false;
          const down = below?.has(column) ?? false;
          line += up && down ? '┼' : down ? '┬' : up ? '┴' : '─';
        }
        line += '─'.repeat(width);
      });
      return line + right;
    };
    const out: string[] = [];
    rows.forEach((row, index) => {
      if (index === 0) out.push(rule(undefined, starts[0]));
      else if (!compact || (index === 1 && head.length)) out.push(rule(starts[index - 1], starts[index]));
      const height = Math.max(1, ...row.map((cell) => cell.lines.length));
      for (let lineNumber = 0; lineNumber < height; lineNumber++) {
        let line = '';
        for (const cell of row) {
          const width = this.#innerWidth(cell);
          const text = cell.lines[lineNumber];
          line += `│${text === undefined ? ' '.repeat(width + 2 * PADDING) : ' '.repeat(PADDING) + fitToWidth(text, width) + ' '.repeat(PADDING)}`;
        }
        out.push(`${line}│`);
      }
    });
    if (rows.length) out.push(rule(starts.at(-1), undefined));
    return out.join('\n');
  }

  /** Columns between a cell's paddings: its columns and the borders inside it. */
  #innerWidth(cell: PlacedCell): number {
    const widths = this.#layout.colWidths.slice(cell.column, cell.column + cell.span);
    return widths.reduce((a, b) => a + b, 0) + cell.span - 1 - 2 * PADDING;
  }

  #place(row: TableRow): PlacedCell[] {
    let column = 0;
    return row.map((cell) => {
      const span = typeof cell === 'object' ? cell.colSpan : 1;
      const content = typeof cell === 'object' ? cell.content : String(cell);
      // cli-table3 wrapped a spanning cell to its columns' widths without the borders between
      // them (one column narrower per border than the line it draws): kept, so lines break alike.
      const wrapWidth = this.#layout.colWidths.slice(column, column + span).reduce((a, b) => a + b, 0) - 2 * PADDING;
      const placed = { column, span, lines: content.split('\n').flatMap((line) => wrapLine(wrapWidth, line)) };
      column += span;
      return placed;
    });
  }
}
