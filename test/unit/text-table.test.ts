// The terminal reports' table renderer, on hand-made tables: wrapping at spaces, spans and the
// junctions under and over them, the compact form, colour codes and wide characters in the widths.
import { describe, expect, it } from 'vitest';
import { displayWidth, TextTable } from '../../checks/core/text-table.ts';

describe('TextTable', () => {
  it('draws the head, the rows and a line between rows, each cell padded to its column', () => {
    const table = new TextTable({ head: ['a', 'b'], colWidths: [5, 8], compact: false });
    table.push(['1', 'one'], ['2', 'two']);
    expect(table.toString()).toBe(
      [
        '┌─────┬────────┐',
        '│ a   │ b      │',
        '├─────┼────────┤',
        '│ 1   │ one    │',
        '├─────┼────────┤',
        '│ 2   │ two    │',
        '└─────┴────────┘',
      ].join('\n'),
    );
  });

  it('wraps at spaces, keeps explicit line breaks, and pads the shorter cells of a row', () => {
    const table = new TextTable({ head: [], colWidths: [4, 12], compact: false });
    table.push(['x', 'the quick brown fox\njumps']);
    expect(table.toString()).toBe(
      ['┌────┬────────────┐', '│ x  │ the quick  │', '│    │ brown fox  │', '│    │ jumps      │', '└────┴────────────┘'].join('\n'),
    );
  });

  it('joins the borders around a row that spans every column', () => {
    const table = new TextTable({ head: ['a', 'b'], colWidths: [3, 4], compact: false });
    table.push([{ colSpan: 2, content: 'all' }], ['1', '2']);
    expect(table.toString()).toBe(
      ['┌───┬────┐', '│ a │ b  │', '├───┴────┤', '│ all    │', '├───┬────┤', '│ 1 │ 2  │', '└───┴────┘'].join('\n'),
    );
  });

  it('cuts a word longer than its column with an ellipsis', () => {
    const table = new TextTable({ head: [], colWidths: [8], compact: false });
    table.push(['abcdefghijk']);
    expect(table.toString().split('\n')[1]).toBe('│ abcde… │');
  });

  it('compact: a line under the head only; numbers are cells too', () => {
    const table = new TextTable({ head: ['n'], colWidths: [5], compact: true });
    table.push([1], [22]);
    expect(table.toString()).toBe(['┌─────┐', '│ n   │', '├─────┤', '│ 1   │', '│ 22  │', '└─────┘'].join('\n'));
  });

  it('counts columns as a terminal shows them: no width for colour codes, two for wide characters', () => {
    expect(displayWidth('\u001b[31mFAIL\u001b[0m')).toBe(4);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('😀x')).toBe(3);
    expect(displayWidth('e\u0301')).toBe(1);
    const table = new TextTable({ head: [], colWidths: [8], compact: false });
    table.push(['\u001b[31mFAIL\u001b[0m'], ['日本']);
    const lines = table.toString().split('\n');
    expect(lines[1]).toBe('│ \u001b[31mFAIL\u001b[0m   │');
    expect(lines[3]).toBe('│ 日本   │');
  });
});
