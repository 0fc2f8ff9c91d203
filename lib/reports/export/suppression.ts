/**
 * Small-cell suppression for count tables shared outside the clinic.
 *
 * The table is published with its row totals, column totals and grand total, all computed here from the true
 * counts; publish only what the result holds (a total or rate computed elsewhere from the true counts can undo the
 * suppression). Rules, applied to the table with its totals:
 * - Primary: a count from 1 to k-1 (a total too) is shown as "<k" (status "small"). k defaults to 11.
 * - Zeros are shown as 0: a zero describes no patient. A zero is never hidden to protect another cell either,
 *   because hiding a known-empty cell protects nothing once a reader knows that hidden cells are never empty.
 * - Complementary: when a row or column (the totals row and column included) has exactly one hidden cell, the
 *   smallest shown non-zero cell of that line is hidden too ("*", status "complementary"); repeated until stable.
 *   Such a cell is at least k, since smaller non-zero counts are already hidden.
 * - Audit: the rule above stops subtraction from one total, but sums over several totals, or the bounds a reader
 *   knows (a "<k" cell is 1..k-1, a "*" cell is at least k), can still pin a cell to one value (two "<11" cells
 *   whose row says they add up to 2 are both 1). Each hidden cell is checked exactly: a cell can take another value
 *   iff it lies on a cycle of hidden cells along which every cell can move by one within its bounds (the totals
 *   make the table a network, so this test is exact for integer counts). A pinned cell gets another cell hidden,
 *   the smallest that frees it, preferring its own row and column.
 * - If hiding every non-zero cell still leaves a cell pinned (only possible when everything is small, e.g. [1, 1]
 *   with k = 3), the whole table is withheld: every non-zero cell shows "*" without a bound (status "withheld").
 * Not modelled: a reader who also reasons about which cell the algorithm chose as complementary.
 */

export const DEFAULT_SUPPRESSION_K = 11;
export const DEFAULT_HIDDEN_MARKER = "*";

export interface CountTable {
  readonly rowLabels: readonly string[];
  readonly columnLabels: readonly string[];
  /** counts[row][column]: non-negative integers. */
  readonly counts: readonly (readonly number[])[];
}

/** A cell as it may be published: hidden cells carry no count at all. */
export type PublishedCell =
  | { readonly status: "shown"; readonly count: number; readonly display: string }
  | { readonly status: "small" | "complementary" | "withheld"; readonly display: string };

export type PublishedStatus = PublishedCell["status"];

export interface SuppressedTable {
  readonly k: number;
  readonly rowLabels: readonly string[];
  readonly columnLabels: readonly string[];
  /** cells[row][column] */
  readonly cells: readonly (readonly PublishedCell[])[];
  readonly rowTotals: readonly PublishedCell[];
  readonly columnTotals: readonly PublishedCell[];
  readonly grandTotal: PublishedCell;
  /** True when every non-zero cell had to be hidden without a bound. */
  readonly withheld: boolean;
  /** One sentence for the reader (CSV header block note, PDF footnote). */
  readonly note: string;
}

export interface SuppressionOptions {
  /** Counts from 1 to k-1 are hidden; an integer, at least 3 ("<2" would say "1"). Default 11. */
  readonly k?: number;
  /** What a complementary or withheld cell shows. Default "*". */
  readonly hiddenMarker?: string;
}

const SHOWN = 0;
const SMALL = 1;
const COMPLEMENTARY = 2;
const WITHHELD = 3;
type State = typeof SHOWN | typeof SMALL | typeof COMPLEMENTARY | typeof WITHHELD;
const HIDDEN_STATUS: Record<Exclude<State, typeof SHOWN>, Exclude<PublishedStatus, "shown">> = {
  [SMALL]: "small", [COMPLEMENTARY]: "complementary", [WITHHELD]: "withheld",
};

/**
 * The table with totals as a (rows+1) x (columns+1) grid; the last row and column hold the totals. Every row and
 * column of the grid is one equation (cells add up to the total cell), i.e. a bipartite network: grid rows and
 * grid columns are nodes, each cell an edge between its row and its column.
 */
interface Grid {
  readonly rows: number; // including the totals row
  readonly cols: number; // including the totals column
  readonly value: number[]; // row-major
  readonly state: State[];
  readonly k: number;
}

export function suppressionNote(k: number, hiddenMarker = DEFAULT_HIDDEN_MARKER, withheld = false): string {
  if (withheld) {
    return `All non-zero counts in this table are hidden ("${hiddenMarker}") because counts below ${k} could otherwise be worked out from the totals. Zeros are shown.`;
  }
  return `Counts from 1 to ${k - 1} are shown as "<${k}". Cells marked "${hiddenMarker}" are hidden as well so that no hidden count can be worked out from the totals. Zeros are shown.`;
}

function validate(table: CountTable, k: number): void {
  if (!Number.isInteger(k) || k < 3) throw new RangeError(`suppression threshold k must be an integer of at least 3, got ${k}`);
  if (table.counts.length !== table.rowLabels.length) {
    throw new RangeError(`count table has ${table.counts.length} rows but ${table.rowLabels.length} row labels`);
  }
  table.counts.forEach((row, r) => {
    if (row.length !== table.columnLabels.length) {
      throw new RangeError(`count table row ${r + 1} has ${row.length} cells but there are ${table.columnLabels.length} columns`);
    }
    row.forEach((count, c) => {
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new RangeError(`count table cell (row ${r + 1}, column ${c + 1}) is not a non-negative integer: ${count}`);
      }
    });
  });
}

function buildGrid(table: CountTable, k: number): Grid {
  const m = table.rowLabels.length;
  const n = table.columnLabels.length;
  const rows = m + 1;
  const cols = n + 1;
  const value = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      const count = table.counts[r]![c]!;
      value[r * cols + c] = count;
      value[r * cols + n] = value[r * cols + n]! + count;
      value[m * cols + c] = value[m * cols + c]! + count;
      value[m * cols + n] = value[m * cols + n]! + count;
    }
  }
  const state = value.map((v): State => (v >= 1 && v < k ? SMALL : SHOWN));
  return { rows, cols, value, state, k };
}

/** Cell indexes of each grid row and each grid column. */
function gridLines(grid: Grid): number[][] {
  const lines: number[][] = [];
  for (let r = 0; r < grid.rows; r++) lines.push(Array.from({ length: grid.cols }, (_, c) => r * grid.cols + c));
  for (let c = 0; c < grid.cols; c++) lines.push(Array.from({ length: grid.rows }, (_, r) => r * grid.cols + c));
  return lines;
}

const isHidden = (grid: Grid, cell: number) => grid.state[cell] !== SHOWN;

function isTotalCell(grid: Grid, cell: number): boolean {
  return Math.floor(cell / grid.cols) === grid.rows - 1 || cell % grid.cols === grid.cols - 1;
}

/** Smallest first; at equal counts an inner cell before a total, then grid order. */
function byHidingPreference(grid: Grid) {
  return (a: number, b: number) =>
    grid.value[a]! - grid.value[b]! || Number(isTotalCell(grid, a)) - Number(isTotalCell(grid, b)) || a - b;
}

/** Cells that may be hidden to protect others: shown and non-zero. */
function hidingCandidates(grid: Grid, cells: readonly number[]): number[] {
  return cells.filter((cell) => !isHidden(grid, cell) && grid.value[cell]! > 0).sort(byHidingPreference(grid));
}

/** A row or column with exactly one hidden cell gives it away by subtraction: hide its next-smallest cell. */
function hideLoneCells(grid: Grid, lines: readonly number[][]): boolean {
  let changedAny = false;
  for (let changed = true; changed;) {
    changed = false;
    for (const line of lines) {
      if (line.filter((cell) => isHidden(grid, cell)).length !== 1) continue;
      const [candidate] = hidingCandidates(grid, line);
      if (candidate === undefined) continue; // cannot happen for a consistent table; the audit would catch it
      grid.state[candidate] = COMPLEMENTARY;
      changed = true;
      changedAny = true;
    }
  }
  return changedAny;
}

/** The bounds a reader knows for a hidden cell. */
function bounds(grid: Grid, cell: number): readonly [number, number] {
  switch (grid.state[cell]) {
    case SMALL: return [1, grid.k - 1];
    case COMPLEMENTARY: return [grid.k, Infinity];
    case WITHHELD: return [1, Infinity];
    default: return [grid.value[cell]!, grid.value[cell]!];
  }
}

/**
 * Whether a reader can pin this hidden cell to one value. In the grid's equations the inner cells and the grand
 * total enter with sign +1 and the row and column totals with -1 (y = sign * count); a cell can change iff there
 * is a directed cycle through it in the residual network: arc row->column when its y can rise by one within its
 * bounds, column->row when it can fall by one.
 */
function isPinned(grid: Grid, cell: number): boolean {
  const nodeOfRow = (r: number) => r;
  const nodeOfColumn = (c: number) => grid.rows + c;
  const adjacency: number[][] = Array.from({ length: grid.rows + grid.cols }, () => []);
  const moves = (e: number) => {
    const r = Math.floor(e / grid.cols);
    const c = e % grid.cols;
    const sign = (r < grid.rows - 1) === (c < grid.cols - 1) ? 1 : -1;
    const [lo, hi] = bounds(grid, e);
    const within = (v: number) => v >= lo && v <= hi;
    return { row: nodeOfRow(r), column: nodeOfColumn(c), up: within(grid.value[e]! + sign), down: within(grid.value[e]! - sign) };
  };
  for (let e = 0; e < grid.value.length; e++) {
    if (e === cell || !isHidden(grid, e)) continue;
    const m = moves(e);
    if (m.up) adjacency[m.row]!.push(m.column);
    if (m.down) adjacency[m.column]!.push(m.row);
  }
  const reaches = (from: number, to: number) => {
    const seen = new Set([from]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      for (const next of adjacency[queue[i]!]!) {
        if (next === to) return true;
        if (!seen.has(next)) { seen.add(next); queue.push(next); }
      }
    }
    return false;
  };
  const own = moves(cell);
  if (own.up && reaches(own.column, own.row)) return false;
  if (own.down && reaches(own.row, own.column)) return false;
  return true;
}

function firstPinnedCell(grid: Grid): number | undefined {
  for (let cell = 0; cell < grid.value.length; cell++) if (isHidden(grid, cell) && isPinned(grid, cell)) return cell;
  return undefined;
}

/** Hides one more cell for a pinned cell: the smallest that frees it, else the smallest in its row or column. */
function protectPinnedCell(grid: Grid, pinned: number, lines: readonly number[][]): boolean {
  const own = lines.filter((line) => line.includes(pinned)).flat();
  const ownSet = new Set(own);
  const all = Array.from({ length: grid.value.length }, (_, i) => i);
  const candidates = [...hidingCandidates(grid, own), ...hidingCandidates(grid, all).filter((cell) => !ownSet.has(cell))];
  for (const candidate of candidates) {
    grid.state[candidate] = COMPLEMENTARY;
    if (!isPinned(grid, pinned)) return true;
    grid.state[candidate] = SHOWN;
  }
  const [fallback] = candidates;
  if (fallback === undefined) return false;
  grid.state[fallback] = COMPLEMENTARY;
  return true;
}

function publish(grid: Grid, cell: number, hiddenMarker: string): PublishedCell {
  const state = grid.state[cell]!;
  if (state === SHOWN) return { status: "shown", count: grid.value[cell]!, display: String(grid.value[cell]) };
  return { status: HIDDEN_STATUS[state], display: state === SMALL ? `<${grid.k}` : hiddenMarker };
}

/** Applies small-cell and complementary suppression; the result holds no hidden count. */
export function suppressSmallCells(table: CountTable, options: SuppressionOptions = {}): SuppressedTable {
  const k = options.k ?? DEFAULT_SUPPRESSION_K;
  const hiddenMarker = options.hiddenMarker ?? DEFAULT_HIDDEN_MARKER;
  validate(table, k);
  const grid = buildGrid(table, k);
  const lines = gridLines(grid);
  let withheld = false;
  for (;;) {
    if (hideLoneCells(grid, lines)) continue;
    const pinned = firstPinnedCell(grid);
    if (pinned === undefined) break;
    if (protectPinnedCell(grid, pinned, lines)) continue;
    // Every non-zero cell is hidden and bounds still pin one: drop the bounds.
    withheld = true;
    grid.value.forEach((v, cell) => { if (v > 0) grid.state[cell] = WITHHELD; });
    break;
  }
  const m = grid.rows - 1;
  const n = grid.cols - 1;
  const at = (r: number, c: number) => publish(grid, r * grid.cols + c, hiddenMarker);
  return {
    k,
    rowLabels: [...table.rowLabels],
    columnLabels: [...table.columnLabels],
    cells: Array.from({ length: m }, (_, r) => Array.from({ length: n }, (_, c) => at(r, c))),
    rowTotals: Array.from({ length: m }, (_, r) => at(r, n)),
    columnTotals: Array.from({ length: n }, (_, c) => at(m, c)),
    grandTotal: at(m, n),
    withheld,
    note: suppressionNote(k, hiddenMarker, withheld),
  };
}
