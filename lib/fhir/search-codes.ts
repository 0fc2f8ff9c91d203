/**
 * The Observation codes the engine knows (clinical-reference sections 1-2), as token search values
 * (system|code). Epic and others require a category or a code on Observation searches; the patient record
 * searches by category (laboratory, survey, exam: labs carry laboratory, as US Core requires; the app files
 * its own scores under survey) and by SCORE_CODE_SEARCH plus the site's mapped score codes for scores filed
 * elsewhere (generic pain severity under vital-signs; site flowsheet rows searchable by code only).
 */
import { INSTRUMENT_SYSTEM, LOINC } from "../clinical/codes";

const INSTRUMENT_CODES = ["skin-pain-nrs", "itch-nrs", "easi", "iga", "bsa-percent", "poem", "dlqi", "scorad", "po-scorad", "sleep-nrs"];

const LOINC_CODES = [
  "72514-3",
  "58410-2", "718-7", "6690-2", "751-8", "731-0", "777-3",
  "1742-6", "1920-8",
  "57698-3", "2093-3", "14647-2", "13457-7", "18262-6", "2085-9", "14646-4", "2571-8", "14927-8",
  "71773-6", "71772-8", "71776-9",
  "5196-1", "5195-3", "16933-4", "13952-7", "22322-2", "10900-9", "16935-9", "42595-9", "29615-2",
  "16128-1", "13955-0", "11011-4", "20416-4", "11259-9",
  "2157-6", "2160-0", "14682-9", "33914-3", "2106-3", "21198-7", "19080-1",
];

/** Searched by code on every launch: generic LOINC pain severity 0-10 (skin pain when the text says so). */
export const SCORE_CODE_SEARCH: readonly string[] = [`${LOINC}|72514-3`];

/** Every Observation code the engine knows. */
export const KNOWN_OBSERVATION_CODES: readonly string[] = [
  ...INSTRUMENT_CODES.map((c) => `${INSTRUMENT_SYSTEM}|${c}`),
  ...LOINC_CODES.map((c) => `${LOINC}|${c}`),
];

/** Observation categories searched (observation-category system). */
export const OBSERVATION_CATEGORIES = ["laboratory", "survey", "exam"] as const;

/** Splits token values into groups whose joined, URL-encoded length stays under `maxChars` (URL limits). */
export function chunkCodes(codes: readonly string[], maxChars = 1800): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const code of codes) {
    const len = encodeURIComponent(code).length + 3;
    if (current.length > 0 && length + len > maxChars) {
      chunks.push(current);
      current = [];
      length = 0;
    }
    current.push(code);
    length += len;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
