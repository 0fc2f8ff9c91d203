/** Lays out prior and concurrent therapy and the JAK courses on one time axis, for sequencing decisions. */
import type { CourseEvaluation, IsoDate, TherapyClass, TherapyEpisode } from "../clinical/types";
import { dayNumberToIso, DRUG_LABELS, isoToDayNumber, therapyClassLabel } from "./format";

export interface TimelineBar {
  key: string;
  name: string;
  therapyClass: TherapyClass;
  classLabel: string;
  route: string | null;
  start: IsoDate;
  /** null = no end on record (ongoing at asOf). */
  end: IsoDate | null;
  /** Position on the axis, in percent of its width. */
  leftPercent: number;
  widthPercent: number;
  resources: string[];
}

export interface TherapyTimeline {
  bars: TimelineBar[];
  axisStart: IsoDate;
  axisEnd: IsoDate;
  /** 1 January of each year inside the axis, with its position. */
  yearTicks: { year: number; leftPercent: number }[];
}

/** Minimum bar width so a one-day prescription stays visible and hoverable. */
const MIN_WIDTH_PERCENT = 0.8;

export function buildTherapyTimeline(history: TherapyEpisode[], courses: CourseEvaluation[], asOf: IsoDate): TherapyTimeline | null {
  const episodes: Omit<TimelineBar, "leftPercent" | "widthPercent" | "classLabel">[] = [
    ...history
      // JAK courses come from the engine's courses (with their checkpoints); avoid listing them twice.
      .filter((t) => t.therapyClass !== "jak-ad")
      .map((t, i) => ({ key: `t${i}`, name: t.name, therapyClass: t.therapyClass, route: t.route, start: t.start, end: t.end, resources: t.resources })),
    ...courses.map((c, i) => ({
      key: `c${i}`,
      name: DRUG_LABELS[c.drug] ?? c.drug,
      therapyClass: "jak-ad" as const,
      route: c.route,
      start: c.start,
      end: c.end,
      resources: c.sources ?? [c.startSource],
    })),
  ].filter((e) => Number.isFinite(isoToDayNumber(e.start)));
  if (episodes.length === 0) return null;

  const asOfDay = isoToDayNumber(asOf);
  const endDay = (e: { start: IsoDate; end: IsoDate | null }) => (e.end ? isoToDayNumber(e.end) : Math.max(asOfDay, isoToDayNumber(e.start)));
  const axisStartDay = Math.min(...episodes.map((e) => isoToDayNumber(e.start)));
  const axisEndDay = Math.max(asOfDay, ...episodes.map(endDay));
  const span = Math.max(1, axisEndDay - axisStartDay);
  const pct = (day: number) => ((day - axisStartDay) / span) * 100;

  const bars = episodes
    .map((e) => {
      const left = pct(isoToDayNumber(e.start));
      const width = Math.max(MIN_WIDTH_PERCENT, pct(endDay(e)) - left);
      return { ...e, classLabel: therapyClassLabel(e.therapyClass), leftPercent: Math.min(left, 100 - MIN_WIDTH_PERCENT), widthPercent: Math.min(width, 100 - Math.min(left, 100 - MIN_WIDTH_PERCENT)) };
    })
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.name.localeCompare(b.name)));

  const firstYear = Number(dayNumberToIso(axisStartDay).slice(0, 4)) + 1;
  const lastYear = Number(dayNumberToIso(axisEndDay).slice(0, 4));
  const yearTicks: TherapyTimeline["yearTicks"] = [];
  for (let year = firstYear; year <= lastYear; year++) yearTicks.push({ year, leftPercent: pct(isoToDayNumber(`${year}-01-01`)) });

  return { bars, axisStart: dayNumberToIso(axisStartDay), axisEnd: dayNumberToIso(axisEndDay), yearTicks };
}
