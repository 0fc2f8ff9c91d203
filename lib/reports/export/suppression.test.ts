import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { suppressSmallCells, type CountTable, type PublishedCell, type SuppressedTable } from "./suppression";

const table = (counts: number[][]): CountTable => ({
  rowLabels: counts.map((_, r) => `row ${r + 1}`),
  columnLabels: (counts[0] ?? []).map((_, c) => `column ${c + 1}`),
  counts,
});

const displays = (result: SuppressedTable) => ({
  cells: result.cells.map((row) => row.map((cell) => cell.display)),
  rowTotals: result.rowTotals.map((cell) => cell.display),
  columnTotals: result.columnTotals.map((cell) => cell.display),
  grandTotal: result.grandTotal.display,
});

/** The published grid with totals, as a reader sees it: rows then the totals row, each ending with its total. */
function publishedGrid(result: SuppressedTable): PublishedCell[][] {
  return [
    ...result.cells.map((row, r) => [...row, result.rowTotals[r]!]),
    [...result.columnTotals, result.grandTotal],
  ];
}

function trueGrid(counts: number[][]): number[][] {
  const columns = counts[0]?.length ?? 0;
  const rows = counts.map((row) => [...row, row.reduce((a, b) => a + b, 0)]);
  const totals = Array.from({ length: columns + 1 }, (_, c) => rows.reduce((sum, row) => sum + row[c]!, 0));
  return [...rows, totals];
}

/** What a reader knows of a published cell: an interval. */
function readerBounds(cell: PublishedCell, k: number): [number, number] {
  switch (cell.status) {
    case "shown": return [cell.count, cell.count];
    case "small": return [1, k - 1];
    case "complementary": return [k, Infinity];
    case "withheld": return [1, Infinity];
  }
}

/**
 * Hidden cells of the grid (totals included) that a reader cannot pin to one value, found by brute force: every
 * assignment of the hidden inner cells within one of their true value (the totals follow) that agrees with
 * everything published. Within one is enough: if a cell can take another value at all, it can by moving a cycle of
 * hidden cells by one (the table with totals is a network).
 */
function cellsWithAnotherValue(counts: number[][], result: SuppressedTable): Set<string> {
  const truth = trueGrid(counts);
  const published = publishedGrid(result);
  const inner = counts.flatMap((row, r) => row.map((_, c) => [r, c] as const)).filter(([r, c]) => published[r]![c]!.status !== "shown");
  const free = new Set<string>();
  const values = counts.map((row) => [...row]);
  const within = (value: number, cell: PublishedCell) => {
    const [lo, hi] = readerBounds(cell, result.k);
    return value >= lo && value <= hi;
  };
  const visit = (index: number) => {
    if (index === inner.length) {
      const grid = trueGrid(values);
      if (!grid.every((row, r) => row.every((value, c) => within(value, published[r]![c]!)))) return;
      grid.forEach((row, r) => row.forEach((value, c) => { if (value !== truth[r]![c]) free.add(`${r},${c}`); }));
      return;
    }
    const [r, c] = inner[index]!;
    for (const delta of [-1, 0, 1]) {
      const value = counts[r]![c]! + delta;
      if (!within(value, published[r]![c]!)) continue;
      values[r]![c] = value;
      visit(index + 1);
    }
    values[r]![c] = counts[r]![c]!;
  };
  visit(0);
  return free;
}

function hiddenCells(result: SuppressedTable): string[] {
  return publishedGrid(result).flatMap((row, r) => row.flatMap((cell, c) => (cell.status === "shown" ? [] : [`${r},${c}`])));
}

describe("suppressSmallCells", () => {
  it("shows counts of at least k and zeros with their totals", () => {
    const result = suppressSmallCells(table([[0, 12], [30, 11]]));
    expect(displays(result)).toEqual({ cells: [["0", "12"], ["30", "11"]], rowTotals: ["12", "41"], columnTotals: ["30", "23"], grandTotal: "53" });
    expect(result.withheld).toBe(false);
  });

  it("hides the complementary cells when a row has one small count (the complementary case)", () => {
    // 5 alone in its row and column could be read off the totals; 20 hides it in the row, 15 in the column,
    // and 25 then keeps 20 and 15 from being read off their column and row.
    const result = suppressSmallCells(table([[5, 20, 30], [15, 25, 40]]));
    expect(displays(result)).toEqual({
      cells: [["<11", "*", "30"], ["*", "*", "40"]],
      rowTotals: ["55", "80"],
      columnTotals: ["20", "45", "70"],
      grandTotal: "135",
    });
    expect(result.cells[0]![1]!.status).toBe("complementary");
    expect(result.note).toMatch(/Counts from 1 to 10 are shown as "<11"/);
  });

  it("hides a small total like any small count", () => {
    const result = suppressSmallCells(table([[12, 20], [3, 4]]));
    expect(result.rowTotals[1]!.display).toBe("<11");
    expect(result.cells[1]!.map((cell) => cell.display)).toEqual(["<11", "<11"]);
  });

  it("never hides a zero to protect another cell", () => {
    const result = suppressSmallCells(table([[0, 3, 50], [0, 40, 60]]));
    expect(result.cells.map((row) => row[0]!.display)).toEqual(["0", "0"]);
    expect(result.columnTotals[0]!.display).toBe("0");
    expect(result.cells[0]![2]!.display).toBe("*");
  });

  it("hides more when two small counts in a row are pinned by their sum (1 + 1 = 52 - 50), although no line has a lone hidden cell", () => {
    const counts = [[1, 1, 50]];
    const result = suppressSmallCells(table(counts));
    expect(displays(result)).toEqual({ cells: [["<11", "<11", "*"]], rowTotals: ["52"], columnTotals: ["<11", "<11", "*"], grandTotal: "52" });
    expect(cellsWithAnotherValue(counts, result)).toEqual(new Set(hiddenCells(result)));
  });

  it("withholds the whole table when even hiding everything leaves a count pinned by its bounds", () => {
    // k = 3: both cells are "<3" and their total "<3" too, so the two cells are 1 each.
    const result = suppressSmallCells(table([[1, 1], [0, 0]]), { k: 3 });
    expect(result.withheld).toBe(true);
    expect(displays(result)).toEqual({ cells: [["*", "*"], ["0", "0"]], rowTotals: ["*", "0"], columnTotals: ["*", "*"], grandTotal: "*" });
    expect(result.note).toMatch(/All non-zero counts in this table are hidden/);
  });

  it("uses the configured k and marker", () => {
    const result = suppressSmallCells(table([[4, 30], [30, 30]]), { k: 5, hiddenMarker: "suppressed" });
    expect(result.cells[0]!.map((cell) => cell.display)).toEqual(["<5", "suppressed"]);
  });

  it("keeps hidden counts out of the result entirely", () => {
    const result = suppressSmallCells(table([[5, 20, 30], [15, 25, 40]]));
    const hidden = result.cells.flat().filter((cell) => cell.status !== "shown");
    expect(hidden.every((cell) => !("count" in cell))).toBe(true);
    expect(JSON.stringify(result.cells)).not.toMatch(/\b(5|20|15|25)\b/);
  });

  it("handles a table without rows", () => {
    const result = suppressSmallCells({ rowLabels: [], columnLabels: ["a"], counts: [] });
    expect(displays(result)).toEqual({ cells: [], rowTotals: [], columnTotals: ["0"], grandTotal: "0" });
  });

  it.each<[{ counts: number[][]; k?: number }, RegExp]>([
    [{ counts: [[1.5]] }, /not a non-negative integer: 1.5/],
    [{ counts: [[-1]] }, /not a non-negative integer: -1/],
    [{ counts: [[1, 2]] }, /row 1 has 2 cells but there are 1 columns/],
    [{ counts: [[1], [2]] }, /2 rows but 1 row labels/],
    [{ counts: [[1]], k: 2 }, /k must be an integer of at least 3, got 2/],
  ])("refuses a malformed table or k (%#)", ({ counts, k }, message) => {
    expect(() => suppressSmallCells({ rowLabels: ["r"], columnLabels: ["c"], counts }, { k })).toThrow(message);
  });
});

describe("suppressSmallCells on any small table", () => {
  const tables = fc.integer({ min: 3, max: 12 }).chain((k) =>
    fc.record({
      k: fc.constant(k),
      counts: fc.integer({ min: 1, max: 3 }).chain((rows) =>
        fc.integer({ min: 1, max: 3 }).chain((cols) =>
          fc.array(
            fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: k - 1 }), fc.integer({ min: k, max: 4 * k })), { minLength: cols, maxLength: cols }),
            { minLength: rows, maxLength: rows },
          ),
        ),
      ),
    }),
  );

  it("publishes true counts, hides every count from 1 to k-1, and hides no zero", () => {
    fc.assert(fc.property(tables, ({ k, counts }) => {
      const result = suppressSmallCells(table(counts), { k });
      const truth = trueGrid(counts);
      publishedGrid(result).forEach((row, r) => row.forEach((cell, c) => {
        const value = truth[r]![c]!;
        if (cell.status === "shown") expect(cell.count).toBe(value);
        if (value >= 1 && value < k) expect(cell.status).not.toBe("shown");
        if (value === 0) expect(cell.status).toBe("shown");
        if (cell.status === "complementary") expect(value).toBeGreaterThanOrEqual(k);
      }));
    }), { numRuns: 300 });
  });

  it("leaves no row or column (totals included) with a lone hidden cell", () => {
    fc.assert(fc.property(tables, ({ k, counts }) => {
      const grid = publishedGrid(suppressSmallCells(table(counts), { k }));
      const lines = [...grid, ...grid[0]!.map((_, c) => grid.map((row) => row[c]!))];
      for (const line of lines) expect(line.filter((cell) => cell.status !== "shown").length).not.toBe(1);
    }), { numRuns: 300 });
  });

  it("lets no hidden cell be worked out from the totals and the published bounds", () => {
    fc.assert(fc.property(tables, ({ k, counts }) => {
      const result = suppressSmallCells(table(counts), { k });
      expect(cellsWithAnotherValue(counts, result)).toEqual(new Set(hiddenCells(result)));
    }), { numRuns: 300 });
  });
});
