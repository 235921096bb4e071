/**
 * A small terminal emulator for what a pty recorded: plays the bytes (text, CR, LF, backspace, and
 * the ECMA-48 sequences readline and cli-progress use: cursor up/down/left/right/column/position,
 * erase in line, erase in display, cursor visibility) onto a screen of unlimited height, so a test
 * can look at what the operator sees at the end, not at the raw stream. Lines are not wrapped (the
 * live display cuts its lines to the width); other sequences are ignored.
 */
export interface Screen {
  /** Every line from the top, trailing spaces removed. */
  readonly lines: string[];
  readonly cursorVisible: boolean;
}

export function playTerminal(output: string): Screen {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let cursorVisible = true;
  const line = (r: number): string[] => {
    while (rows.length <= r) rows.push([]);
    return rows[r]!;
  };
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\r') col = 0;
    else if (c === '\n') row++;
    else if (c === '\b') col = Math.max(0, col - 1);
    else if (c === '\x1b') {
      const next = chars[i + 1];
      if (next !== '[') {
        i++; // ESC 7, ESC 8 and the like: not used for what the tests look at
        continue;
      }
      let j = i + 2;
      let params = '';
      while (j < chars.length && /[0-9;?]/.test(chars[j]!)) params += chars[j++];
      const cmd = chars[j];
      i = j;
      const nums = params
        .replace('?', '')
        .split(';')
        .map((p) => (p === '' ? undefined : Number(p)));
      const n = nums[0] ?? 1;
      if (params.startsWith('?')) {
        if (params === '?25') {
          if (cmd === 'h') cursorVisible = true;
          if (cmd === 'l') cursorVisible = false;
        }
        continue;
      }
      switch (cmd) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          break;
        case 'C':
          col += n;
          break;
        case 'D':
          col = Math.max(0, col - n);
          break;
        case 'G':
          col = n - 1;
          break;
        case 'H':
          row = (nums[0] ?? 1) - 1;
          col = (nums[1] ?? 1) - 1;
          break;
        case 'K': {
          const l = line(row);
          const mode = nums[0] ?? 0;
          if (mode === 0) l.length = Math.min(l.length, col);
          else if (mode === 1) for (let k = 0; k <= col && k < l.length; k++) l[k] = ' ';
          else l.length = 0;
          break;
        }
        case 'J': {
          const mode = nums[0] ?? 0;
          if (mode === 0) {
            const l = line(row);
            l.length = Math.min(l.length, col);
            rows.length = row + 1;
          } else if (mode === 2) {
            for (const l of rows) l.length = 0;
          }
          break;
        }
        default:
          break;
      }
    } else {
      const l = line(row);
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  line(row);
  return { lines: rows.map((r) => r.join('').trimEnd()), cursorVisible };
}
