import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import v8 from "node:v8";
import vm from "node:vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CSV_BOM, csvChunks, csvField, csvReadable, csvRecord, csvWebStream, FORMULA_NEUTRALISATION_NOTE, neutraliseFormula,
  type CsvDocument, type CsvHeaderBlock, type CsvRow,
} from "./csv";

/** Minimal RFC 4180 reader for the tests: records split on CRLF outside quotes, "" inside quotes is one quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { record.push(field); field = ""; }
    else if (ch === "\r" && text[i + 1] === "\n") { record.push(field); records.push(record); record = []; field = ""; i++; }
    else field += ch;
  }
  if (field !== "" || record.length > 0) throw new Error("CSV does not end with CRLF");
  return records;
}

async function collect(doc: CsvDocument, options = {}): Promise<string> {
  let text = "";
  for await (const chunk of csvChunks(doc, options)) text += chunk;
  return text;
}

const header: CsvHeaderBlock = {
  report: "Baseline safety screening",
  measure: "jak-baseline-screening",
  period: { start: "2026-01-01", end: "2026-06-30" },
  filters: { source: "epic-main", drug: ["abrocitinib", "upadacitinib"], prescriber: "", route: undefined },
  rulesVersion: "2026.1",
  generatedAt: new Date("2026-07-01T08:30:00Z"),
  notes: ["Counts from 1 to 10 are shown as <11."],
};

describe("csvField", () => {
  it.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["cr\rhere", '"cr\rhere"'],
    ["", ""],
    [12, "12"],
    [-3.5, "-3.5"],
    [true, "true"],
    [null, ""],
    [undefined, ""],
    [new Date("2026-02-03T04:05:06Z"), "2026-02-03T04:05:06.000Z"],
  ])("writes %j as %j", (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("writes a bigint as its digits", () => {
    expect(csvField(10n)).toBe("10");
  });

  it.each([
    ["=SUM(A1:A2)", "'=SUM(A1:A2)"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@cmd", "'@cmd"],
    ["\tx", "'\tx"],
    ["\u{FF1D}1+1", "'\u{FF1D}1+1"],
  ])("neutralises the formula-like text %j by a leading quote", (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("neutralises a leading carriage return and still quotes the field", () => {
    expect(csvField("\r=1")).toBe(`"'\r=1"`);
  });

  it("neutralises then quotes a formula holding a comma and quotes", () => {
    expect(csvField('=HYPERLINK("http://x",1)')).toBe(`"'=HYPERLINK(""http://x"",1)"`);
  });

  it("leaves formula characters that are not first alone", () => {
    expect(neutraliseFormula("a=b+c-d@e")).toBe("a=b+c-d@e");
  });

  it.each([NaN, Infinity])("refuses the number %s instead of writing it", (value) => {
    expect(() => csvField(value)).toThrow(RangeError);
  });

  it("reads back every string as written, less the neutralising quote", () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 5 }), (cells) => {
      const [record] = parseCsv(csvRecord(cells));
      expect(record).toEqual(cells.map(neutraliseFormula));
    }));
  });
});

describe("csvChunks", () => {
  it("writes the header block, an empty row, the columns and the rows with CRLF line ends", async () => {
    const text = await collect({ header, columns: ["patient", "drug", "met"], rows: [["p1", "abrocitinib", 1]] });
    expect(text.startsWith(CSV_BOM)).toBe(false);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    expect(parseCsv(text)).toEqual([
      ["Report", "Baseline safety screening", ""],
      ["Measure", "jak-baseline-screening", ""],
      ["Period", "2026-01-01 to 2026-06-30", ""],
      ["Filter: drug", "abrocitinib, upadacitinib", ""],
      ["Filter: source", "epic-main", ""],
      ["Rules version", "2026.1", ""],
      ["Generated at", "2026-07-01T08:30:00.000Z", ""],
      ["Cells", FORMULA_NEUTRALISATION_NOTE, ""],
      ["Note", "Counts from 1 to 10 are shown as <11.", ""],
      ["", "", ""],
      ["patient", "drug", "met"],
      ["p1", "abrocitinib", "1"],
    ]);
  });

  it("says there are no filters when none is set", async () => {
    const text = await collect({ header: { ...header, filters: {} }, columns: ["a", "b"], rows: [] });
    expect(parseCsv(text)).toContainEqual(["Filters", "none"]);
  });

  it("neutralises a formula smuggled into a filter value of the header block", async () => {
    const text = await collect({ header: { ...header, filters: { drug: "=cmd|' /C calc'!A0" } }, columns: ["a", "b"], rows: [] });
    expect(parseCsv(text)).toContainEqual(["Filter: drug", "'=cmd|' /C calc'!A0"]);
  });

  it("starts with a byte order mark only when asked", async () => {
    const doc = { columns: ["a"], rows: [["x"]] };
    expect(await collect(doc, { bom: true })).toBe(`${CSV_BOM}a\r\nx\r\n`);
    expect(await collect(doc)).toBe("a\r\nx\r\n");
  });

  it("reads rows from an async iterable", async () => {
    async function* rows(): AsyncGenerator<CsvRow> {
      yield ["1", 2];
      yield ["=3", null];
    }
    expect(await collect({ columns: ["a", "b"], rows: rows() })).toBe("a,b\r\n1,2\r\n'=3,\r\n");
  });

  it("names the row that does not match the columns instead of writing it", async () => {
    await expect(collect({ columns: ["a", "b"], rows: [["1", "2"], ["only one"]] })).rejects.toThrow(/row 2 has 1 cells; the document has 2 columns/);
  });

  it("emits several chunks and reports progress in data rows", async () => {
    const progress: number[] = [];
    const rows = Array.from({ length: 100 }, (_, i) => [i, "x".repeat(20)]);
    const chunks: string[] = [];
    for await (const chunk of csvChunks({ columns: ["i", "s"], rows }, { chunkSize: 500, onProgress: (n) => progress.push(n) })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(parseCsv(chunks.join(""))).toHaveLength(101);
  });
});

describe("stream forms", () => {
  const doc = (): CsvDocument => ({ header, columns: ["name", "note"], rows: [["Zoë", "é, ü"], ["=1", "x"]] });

  it("the Node stream carries the same UTF-8 bytes as the chunks", async () => {
    const parts: Buffer[] = [];
    for await (const part of csvReadable(doc(), { bom: true })) parts.push(part as Buffer);
    const bytes = Buffer.concat(parts);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(bytes.toString("utf8")).toBe(await collect(doc(), { bom: true }));
  });

  it("the web stream carries the same UTF-8 bytes as the chunks", async () => {
    const text = await new Response(csvWebStream(doc())).text();
    expect(text).toBe(await collect(doc()));
  });

  it("cancelling the web stream stops pulling rows", async () => {
    let pulled = 0;
    function* rows(): Generator<CsvRow> {
      for (let i = 0; i < 1_000_000; i++) { pulled++; yield [i]; }
    }
    const reader = csvWebStream({ columns: ["i"], rows: rows() }, { chunkSize: 100 }).getReader();
    await reader.read();
    await reader.cancel();
    expect(pulled).toBeLessThan(1000);
  });
});

describe("bounded memory", () => {
  // Retained memory (V8 heap plus Buffers outside it) is measured after a full collection, so garbage waiting to
  // be collected does not count.
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const retainedMemory = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.external; };
  const ROWS = 200_000;
  const LIMIT = 8 * 1024 * 1024; // the whole CSV is about 19 MB; writing it all to memory would exceed this

  async function streamWithProbe(sink: (chunk: Buffer) => void): Promise<{ growth: number; bytes: number }> {
    const baseline = retainedMemory();
    let peak = baseline;
    async function* rows(): AsyncGenerator<CsvRow> {
      for (let i = 0; i < ROWS; i++) {
        if (i % 20_000 === 0) peak = Math.max(peak, retainedMemory());
        yield [i, `Patient ${i}`, "2026-01-15", "=HYPERLINK(\"http://x\")", 'say "hi", then go'];
      }
    }
    let bytes = 0;
    const writable = new Writable({ write(chunk: Buffer, _enc, done) { bytes += chunk.length; sink(chunk); done(); } });
    await pipeline(csvReadable({ header, columns: ["i", "name", "date", "link", "note"], rows: rows() }), writable);
    peak = Math.max(peak, retainedMemory());
    return { growth: peak - baseline, bytes };
  }

  it("streams 200,000 rows with little memory growth", async () => {
    const { growth, bytes } = await streamWithProbe(() => {});
    expect(bytes).toBeGreaterThan(15_000_000);
    expect(growth).toBeLessThan(LIMIT);
  });

  it("the probe sees the growth when the reader keeps every chunk (control)", async () => {
    const kept: Buffer[] = [];
    const { growth } = await streamWithProbe((chunk) => kept.push(chunk));
    expect(kept.length).toBeGreaterThan(100);
    expect(growth).toBeGreaterThan(LIMIT);
  });
});
