"use client";

import { Fragment, useMemo, useState, type ReactNode } from "react";

export interface Column<T> {
  id: string;
  header: string;
  cell: (row: T) => ReactNode;
  /** Present when the column sorts; numbers sort numerically, null last. */
  sortValue?: (row: T) => string | number | null;
  numeric?: boolean;
}

type Direction = "ascending" | "descending";

/**
 * A table whose column headers sort it (buttons in the headers, aria-sort on the sorted one). Long tables show the
 * first `pageSize` rows with a button for the rest. `detail` renders an extra full-width row under a row.
 */
export function SortableTable<T>({
  caption,
  rows,
  columns,
  rowKey,
  initialSort,
  detail,
  rowTestId,
  pageSize = 100,
}: {
  caption: string;
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey: (row: T) => string;
  initialSort: { column: string; direction: Direction };
  detail?: (row: T) => ReactNode | null;
  rowTestId?: string;
  pageSize?: number;
}) {
  const [sort, setSort] = useState(initialSort);
  const [showAll, setShowAll] = useState(false);
  const sorted = useMemo(() => {
    const column = columns.find((c) => c.id === sort.column);
    if (!column?.sortValue) return rows;
    const value = column.sortValue;
    const factor = sort.direction === "ascending" ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * factor;
    });
  }, [rows, columns, sort]);
  const visible = showAll ? sorted : sorted.slice(0, pageSize);

  const toggle = (column: Column<T>) =>
    setSort((current) =>
      current.column === column.id
        ? { column: column.id, direction: current.direction === "ascending" ? "descending" : "ascending" }
        : { column: column.id, direction: column.numeric ? "descending" : "ascending" },
    );

  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-left text-sm">
        <caption className="sr-only">{caption}, sortable by the column headers</caption>
        <thead>
          <tr className="border-b-2 border-slate-300 align-bottom text-slate-700">
            {columns.map((column) => {
              const active = sort.column === column.id;
              return (
                <th key={column.id} scope="col" aria-sort={active ? sort.direction : undefined} className={`py-2 pr-3 ${column.numeric ? "text-right" : ""}`}>
                  {column.sortValue ? (
                    <button type="button" onClick={() => toggle(column)} className="inline-flex items-center gap-1 font-semibold hover:text-slate-900">
                      {column.header}
                      <span aria-hidden="true" className={active ? "text-slate-900" : "text-slate-400"}>
                        {active ? (sort.direction === "ascending" ? "▲" : "▼") : "↕"}
                      </span>
                    </button>
                  ) : (
                    column.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {visible.map((row) => {
            const extra = detail?.(row) ?? null;
            const key = rowKey(row);
            return (
              <Fragment key={key}>
                <tr className={`align-top ${extra ? "" : "border-b border-slate-200"}`} data-testid={rowTestId}>
                  {columns.map((column) => (
                    <td key={column.id} className={`py-2 pr-3 ${column.numeric ? "text-right tabular-nums" : ""}`}>
                      {column.cell(row)}
                    </td>
                  ))}
                </tr>
                {extra ? (
                  <tr className="border-b border-slate-200">
                    <td colSpan={columns.length} className="pb-3">
                      {extra}
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      {sorted.length > visible.length ? (
        <button type="button" onClick={() => setShowAll(true)} className="mt-2 text-sm font-medium text-brand underline underline-offset-2">
          Show all {sorted.length} rows
        </button>
      ) : null}
    </div>
  );
}
