import { describe, expect, it } from "vitest";
import { DEFAULT_SNAPSHOT_MAX_ROWS, worklistSnapshotMaxRows } from "./worklist-snapshot";

describe("worklistSnapshotMaxRows", () => {
  it("reads PANEL_WORKLIST_SNAPSHOT_MAX as a whole number, 0 turning the snapshot off", () => {
    expect(worklistSnapshotMaxRows({})).toBe(DEFAULT_SNAPSHOT_MAX_ROWS);
    expect(worklistSnapshotMaxRows({ PANEL_WORKLIST_SNAPSHOT_MAX: "0" })).toBe(0);
    expect(worklistSnapshotMaxRows({ PANEL_WORKLIST_SNAPSHOT_MAX: "50000" })).toBe(50_000);
  });

  it("keeps the default for anything that is not a whole number", () => {
    for (const raw of ["", "-1", "1e5", "20k", " 10", "12.5"]) expect(worklistSnapshotMaxRows({ PANEL_WORKLIST_SNAPSHOT_MAX: raw }), raw).toBe(DEFAULT_SNAPSHOT_MAX_ROWS);
  });
});
