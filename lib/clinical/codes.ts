/**
 * Terminology: concept tables keyed by system|code (clinical-reference 1-3), site mappings passed in as
 * data, then text/display keywords as the last resort. Always system AND code, never code alone.
 * Every match records how it matched ("system-code" | "site-mapping" | "text").
 */
import type { CodeMapping, Concept, LabKey, MatchHow, MeasureKey, TherapyClass } from "./types";

export const INSTRUMENT_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";
export const LOINC = "http://loinc.org";
export const SNOMED = "http://snomed.info/sct";
export const ATC = "http://www.whocc.no/atc";
export const NDC = "http://hl7.org/fhir/sid/ndc";
export const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
export const CVX = "http://hl7.org/fhir/sid/cvx";
export const UCUM = "http://unitsofmeasure.org";

/** Route SNOMED codes (clinical-reference 3). */
export const ROUTE_TOPICAL = "6064005";
export const ROUTE_ORAL = "26643006";
export const ROUTE_SUBCUTANEOUS = "34206005";

/** The same code systems under other names (OIDs, trailing slashes) some EHRs send. */
const SYSTEM_ALIASES: ReadonlyMap<string, string> = new Map([
  ["urn:oid:2.16.840.1.113883.6.1", LOINC],
  ["http://loinc.org/", LOINC],
  ["urn:oid:2.16.840.1.113883.6.96", SNOMED],
  ["http://snomed.info/sct/", SNOMED],
  ["urn:oid:2.16.840.1.113883.6.73", ATC],
  ["http://www.whocc.no/atc/", ATC],
  ["https://www.whocc.no/atc", ATC],
  ["urn:oid:2.16.840.1.113883.6.69", NDC],
  ["urn:oid:2.16.840.1.113883.6.88", RXNORM],
  ["urn:oid:2.16.840.1.113883.12.292", CVX],
  ["http://hl7.org/fhir/sid/cvx/", CVX],
]);

export function normalizeSystem(system: string): string {
  return SYSTEM_ALIASES.get(system) ?? system;
}

const m = (key: MeasureKey): Concept => ({ domain: "measure", key });
const l = (key: LabKey): Concept => ({ domain: "lab", key });
const th = (key: string, therapyClass: TherapyClass): Concept => ({ domain: "therapy", key, therapyClass });

/** Built-in concept table keyed by `system|code`. */
const TABLE = new Map<string, Map<string, Concept>>();
function add(system: string, codes: string[], concept: Concept): void {
  let bySystem = TABLE.get(system);
  if (!bySystem) TABLE.set(system, (bySystem = new Map()));
  for (const code of codes) bySystem.set(code, concept);
}

// 1. Measures: the app's own CodeSystem (no LOINC/SNOMED code exists for these instruments).
add(INSTRUMENT_SYSTEM, ["skin-pain-nrs"], m("pain"));
add(INSTRUMENT_SYSTEM, ["itch-nrs"], m("itch"));
add(INSTRUMENT_SYSTEM, ["easi"], m("easi"));
add(INSTRUMENT_SYSTEM, ["iga"], m("iga"));
add(INSTRUMENT_SYSTEM, ["bsa-percent"], m("bsa"));
add(INSTRUMENT_SYSTEM, ["poem"], m("poem"));
add(INSTRUMENT_SYSTEM, ["dlqi"], m("dlqi"));
add(INSTRUMENT_SYSTEM, ["scorad"], m("scorad"));
add(INSTRUMENT_SYSTEM, ["po-scorad"], m("po-scorad"));
add(INSTRUMENT_SYSTEM, ["sleep-nrs"], m("sleep"));
// Generic pain severity 0-10: skin pain only when text/bodySite/method says skin or eczema.
add(LOINC, ["72514-3"], { domain: "measure-candidate", key: "generic-pain" });

// 2. Safety labs (LOINC).
add(LOINC, ["58410-2"], l("cbc-panel"));
add(LOINC, ["718-7"], l("hemoglobin"));
add(LOINC, ["6690-2"], l("wbc"));
add(LOINC, ["751-8"], l("anc"));
add(LOINC, ["731-0"], l("alc"));
add(LOINC, ["777-3"], l("platelets"));
add(LOINC, ["1742-6"], l("alt"));
add(LOINC, ["1920-8"], l("ast"));
add(LOINC, ["57698-3"], l("lipid-panel"));
add(LOINC, ["2093-3", "14647-2"], l("cholesterol"));
add(LOINC, ["13457-7", "18262-6"], l("ldl"));
add(LOINC, ["2085-9", "14646-4"], l("hdl"));
add(LOINC, ["2571-8", "14927-8"], l("triglycerides"));
add(LOINC, ["71773-6"], l("igra"));
add(LOINC, ["71772-8"], l("igra-mitogen"));
add(LOINC, ["71776-9"], l("igra-nil"));
add(LOINC, ["5196-1", "5195-3"], l("hbsag"));
add(LOINC, ["16933-4", "13952-7"], l("anti-hbc"));
add(LOINC, ["22322-2", "10900-9", "16935-9"], l("anti-hbs"));
add(LOINC, ["42595-9", "29615-2"], l("hbv-dna"));
add(LOINC, ["16128-1", "13955-0"], l("anti-hcv"));
add(LOINC, ["11011-4", "20416-4", "11259-9"], l("hcv-rna"));
add(LOINC, ["2157-6"], l("ck"));
add(LOINC, ["2160-0", "14682-9"], l("creatinine"));
add(LOINC, ["33914-3"], l("egfr"));
add(LOINC, ["2106-3"], l("hcg-urine"));
add(LOINC, ["21198-7", "19080-1"], l("hcg-serum"));

// 3. Medications. Route decides ruxolitinib (cream = AD JAK, oral Jakafi = not) and tacrolimus.
add(ATC, ["L04AF03", "L04AA44"], { domain: "drug", key: "upadacitinib", therapyClass: "jak-ad" });
add(ATC, ["D11AH08"], { domain: "drug", key: "abrocitinib", therapyClass: "jak-ad" });
add(ATC, ["L04AF02", "L04AA37"], { domain: "drug", key: "baricitinib", therapyClass: "jak-ad" });
add(ATC, ["L01EJ01", "L01XE18"], { domain: "drug", key: "ruxolitinib-oral", therapyClass: "jak-other" });
add(ATC, ["D11AH01"], th("tacrolimus", "topical-calcineurin-inhibitor"));
add(ATC, ["D11AH02"], th("pimecrolimus", "topical-calcineurin-inhibitor"));
add(ATC, ["L04AD01"], th("ciclosporin", "systemic-immunosuppressant"));
add(ATC, ["L04AX03", "L01BA01"], th("methotrexate", "systemic-immunosuppressant"));
// NDC product codes (labeler-product, normalised to 5-4 digits).
add(NDC, ["50881-0007"], { domain: "drug", key: "ruxolitinib-cream", therapyClass: "jak-ad" });
add(NDC, ["00074-2310", "00074-2320"], { domain: "drug", key: "upadacitinib", therapyClass: "jak-ad" });

// Vaccines (CVX, CDC table). Sites can add their own codes through mappings.
add(CVX, ["187", "188"], { domain: "vaccine", key: "zoster" });
add(CVX, ["121"], { domain: "vaccine", key: "zoster-live" });
add(CVX, ["03", "3", "04", "4", "05", "5", "06", "6", "07", "7", "21", "94", "37", "19", "111", "149", "116", "119", "122", "25", "174"], { domain: "vaccine", key: "live" });

/** ATC classes matched by prefix: dermatological corticosteroids (D07). */
const ATC_PREFIXES: ReadonlyArray<[string, Concept]> = [["D07", th("topical corticosteroid", "topical-corticosteroid")]];

/** NDC product key: labeler padded to 5 digits and product to 4 (4-4-2, 5-3-2, 5-4-1 and 11-digit forms). */
export function ndcProductKey(code: string): string | null {
  const parts = code.trim().split("-");
  if (parts.length >= 2) {
    const [lab, prod] = parts as [string, string];
    if (!/^\d+$/.test(lab) || !/^\d+$/.test(prod) || lab.length > 5 || prod.length > 4) return null;
    return `${lab.padStart(5, "0")}-${prod.padStart(4, "0")}`;
  }
  if (/^\d{11}$/.test(code)) return `${code.slice(0, 5)}-${code.slice(5, 9)}`;
  return null;
}

/** Parses a concept id used in site mappings: "measure:easi", "lab:anc", "drug:upadacitinib", "therapy:name:class", "vaccine:zoster". */
export function parseConceptId(id: string): Concept | null {
  const [domain, key, extra] = id.split(":");
  if (!domain || !key) return null;
  switch (domain) {
    case "measure":
      return MEASURE_SET.has(key) ? { domain: "measure", key: key as MeasureKey } : null;
    case "lab":
      return LAB_SET.has(key) ? { domain: "lab", key: key as LabKey } : null;
    case "drug":
      if (key === "upadacitinib" || key === "abrocitinib" || key === "baricitinib" || key === "ruxolitinib-cream" || key === "ruxolitinib")
        return { domain: "drug", key, therapyClass: "jak-ad" };
      if (key === "delgocitinib" || key === "ruxolitinib-oral") return { domain: "drug", key, therapyClass: "jak-other" };
      return null;
    case "therapy":
      return extra && THERAPY_CLASSES.has(extra) ? { domain: "therapy", key, therapyClass: extra as TherapyClass } : null;
    case "vaccine":
      return key === "zoster" || key === "live" || key === "zoster-live" ? { domain: "vaccine", key } : null;
    default:
      return null;
  }
}

export function conceptId(c: Concept): string {
  if (c.domain === "therapy") return `therapy:${c.key}:${c.therapyClass}`;
  return `${c.domain}:${c.key}`;
}

const MEASURE_SET = new Set<string>(["pain", "itch", "easi", "iga", "bsa", "poem", "dlqi", "scorad", "po-scorad", "sleep"]);
const LAB_SET = new Set<string>([
  "cbc-panel", "hemoglobin", "wbc", "anc", "alc", "platelets", "alt", "ast", "lipid-panel", "cholesterol", "ldl", "hdl",
  "triglycerides", "igra", "igra-mitogen", "igra-nil", "tst", "hbsag", "anti-hbc", "anti-hbs", "hbv-dna", "anti-hcv",
  "hcv-rna", "ck", "creatinine", "egfr", "hcg-urine", "hcg-serum",
]);
const THERAPY_CLASSES = new Set<string>([
  "jak-ad", "jak-other", "topical-corticosteroid", "topical-calcineurin-inhibitor", "topical-pde4-inhibitor", "biologic",
  "systemic-immunosuppressant", "phototherapy",
]);

/** Site mappings indexed once per evaluation. */
export type MappingIndex = ReadonlyMap<string, Concept>;

export function indexMappings(mappings: readonly CodeMapping[] | undefined): MappingIndex {
  const index = new Map<string, Concept>();
  for (const mapping of mappings ?? []) {
    const concept = parseConceptId(mapping.concept);
    if (concept && mapping.system && mapping.code) index.set(`${normalizeSystem(mapping.system)}|${mapping.code}`, concept);
  }
  return index;
}

// ---------- text keywords (last resort) ----------

/** True when `needle` occurs in `haystack` with no letter or digit on either side. Both lower-case already. */
export function containsWord(haystack: string, needle: string): boolean {
  let from = 0;
  for (;;) {
    const i = haystack.indexOf(needle, from);
    if (i < 0) return false;
    const before = i === 0 ? 32 : haystack.charCodeAt(i - 1);
    const after = i + needle.length >= haystack.length ? 32 : haystack.charCodeAt(i + needle.length);
    if (!isWordChar(before) && !isWordChar(after)) return true;
    from = i + 1;
  }
}
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

interface Keyword {
  words: string[];
  /** Matched against the original text, case-sensitive (e.g. "IGA" must not match immunoglobulin "IgA"). */
  caseSensitive?: string[];
  concept: Concept;
}

/** Observation keywords, most specific first (PO-SCORAD before SCORAD, sleep loss due to itch before itch). */
const OBSERVATION_KEYWORDS: Keyword[] = [
  { words: ["po-scorad", "patient-oriented scorad", "patient oriented scorad"], concept: m("po-scorad") },
  { words: ["scorad", "scoring atopic dermatitis"], concept: m("scorad") },
  { words: ["sleep loss", "sleep disturbance", "sleep-loss"], concept: m("sleep") },
  { words: ["skin pain", "skin-pain"], concept: m("pain") },
  { words: ["eczema area and severity index", "easi"], concept: m("easi") },
  { words: ["viga-ad", "investigator global assessment", "investigator's global assessment", "investigators global assessment"], caseSensitive: ["IGA"], concept: m("iga") },
  { words: ["bsa affected", "body surface area affected", "% bsa", "%bsa"], concept: m("bsa") },
  { words: ["patient-oriented eczema measure", "patient oriented eczema measure", "poem"], concept: m("poem") },
  { words: ["dermatology life quality index", "dlqi"], concept: m("dlqi") },
  { words: ["pp-nrs", "wp-nrs", "pruritus", "itch"], concept: m("itch") },
  { words: ["tuberculin skin test", "mantoux", "ppd skin test"], concept: l("tst") },
  { words: ["quantiferon", "t-spot", "interferon gamma release assay", "interferon-gamma release assay"], concept: l("igra") },
];

const DRUG_KEYWORDS: Keyword[] = [
  { words: ["upadacitinib", "rinvoq"], concept: { domain: "drug", key: "upadacitinib", therapyClass: "jak-ad" } },
  { words: ["abrocitinib", "cibinqo"], concept: { domain: "drug", key: "abrocitinib", therapyClass: "jak-ad" } },
  { words: ["baricitinib", "olumiant"], concept: { domain: "drug", key: "baricitinib", therapyClass: "jak-ad" } },
  { words: ["opzelura"], concept: { domain: "drug", key: "ruxolitinib-cream", therapyClass: "jak-ad" } },
  { words: ["jakafi", "jakavi"], concept: { domain: "drug", key: "ruxolitinib-oral", therapyClass: "jak-other" } },
  { words: ["ruxolitinib"], concept: { domain: "drug", key: "ruxolitinib", therapyClass: "jak-ad" } },
  { words: ["delgocitinib", "anzupgo"], concept: { domain: "drug", key: "delgocitinib", therapyClass: "jak-other" } },
  { words: ["dupilumab", "dupixent"], concept: th("dupilumab", "biologic") },
  { words: ["tralokinumab", "adbry", "adtralza"], concept: th("tralokinumab", "biologic") },
  { words: ["lebrikizumab", "ebglyss"], concept: th("lebrikizumab", "biologic") },
  { words: ["nemolizumab", "nemluvio"], concept: th("nemolizumab", "biologic") },
  { words: ["tacrolimus", "protopic"], concept: th("tacrolimus", "topical-calcineurin-inhibitor") },
  { words: ["pimecrolimus", "elidel"], concept: th("pimecrolimus", "topical-calcineurin-inhibitor") },
  { words: ["crisaborole", "eucrisa"], concept: th("crisaborole", "topical-pde4-inhibitor") },
  { words: ["cyclosporine", "ciclosporin", "neoral", "sandimmune"], concept: th("ciclosporin", "systemic-immunosuppressant") },
  { words: ["methotrexate"], concept: th("methotrexate", "systemic-immunosuppressant") },
  {
    words: ["hydrocortisone", "triamcinolone", "betamethasone", "clobetasol", "mometasone", "fluocinonide", "fluocinolone",
      "desonide", "fluticasone", "desoximetasone", "halobetasol", "alclometasone", "clocortolone", "prednicarbate", "diflorasone", "halcinonide", "amcinonide"],
    concept: th("topical corticosteroid", "topical-corticosteroid"),
  },
];

const PROCEDURE_KEYWORDS: Keyword[] = [
  { words: ["phototherapy", "nb-uvb", "narrowband uvb", "narrow band uvb", "narrowband ultraviolet", "uvb", "uva1", "puva", "ultraviolet light therapy"], concept: th("phototherapy", "phototherapy") },
];

const VACCINE_KEYWORDS: Keyword[] = [
  { words: ["zostavax", "zoster vaccine live", "zoster live"], concept: { domain: "vaccine", key: "zoster-live" } },
  { words: ["zoster", "shingrix", "shingles"], concept: { domain: "vaccine", key: "zoster" } },
  { words: ["mmr", "measles", "mumps", "rubella", "varicella", "yellow fever", "bcg", "laiv", "flumist", "live attenuated", "rotavirus", "ty21a", "typhoid oral", "oral typhoid", "cholera live"], concept: { domain: "vaccine", key: "live" } },
];

export type KeywordDomain = "observation" | "drug" | "procedure" | "vaccine";
const KEYWORDS: Record<KeywordDomain, Keyword[]> = {
  observation: OBSERVATION_KEYWORDS,
  drug: DRUG_KEYWORDS,
  procedure: PROCEDURE_KEYWORDS,
  vaccine: VACCINE_KEYWORDS,
};

/** Texts repeat across patients (the same display on every record): remember their outcome. */
const TEXT_CACHE: Record<KeywordDomain, Map<string, Concept | null>> = { observation: new Map(), drug: new Map(), procedure: new Map(), vaccine: new Map() };
const TEXT_CACHE_LIMIT = 50_000;

export function matchText(text: string, domain: KeywordDomain): Concept | null {
  const cache = TEXT_CACHE[domain];
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const concept = matchTextUncached(text, domain);
  if (cache.size < TEXT_CACHE_LIMIT) cache.set(text, concept);
  return concept;
}

function matchTextUncached(text: string, domain: KeywordDomain): Concept | null {
  const lower = text.toLowerCase();
  for (const kw of KEYWORDS[domain]) {
    for (const w of kw.words) if (containsWord(lower, w)) return kw.concept;
    if (kw.caseSensitive) for (const w of kw.caseSensitive) if (containsWordExact(text, w)) return kw.concept;
  }
  return null;
}
function containsWordExact(text: string, needle: string): boolean {
  let from = 0;
  for (;;) {
    const i = text.indexOf(needle, from);
    if (i < 0) return false;
    const before = i === 0 ? 32 : text.charCodeAt(i - 1);
    const after = i + needle.length >= text.length ? 32 : text.charCodeAt(i + needle.length);
    if (!isWordChar(before) && !isWordChar(after)) return true;
    from = i + 1;
  }
}

// ---------- matching a CodeableConcept ----------

export interface ConceptMatch {
  concept: Concept;
  how: MatchHow;
  system: string | null;
  code: string | null;
  display: string | null;
}

/** The first coding of a CodeableConcept, for reporting an ignored code. */
export interface CodingSummary {
  system: string | null;
  code: string | null;
  display: string | null;
}

function asRecord(x: unknown): Record<string, unknown> | null {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

export function firstCoding(codeable: unknown): CodingSummary {
  const cc = asRecord(codeable);
  const codings = cc && Array.isArray(cc.coding) ? cc.coding : [];
  const c = asRecord(codings[0]);
  const text = cc && typeof cc.text === "string" ? cc.text : null;
  return {
    system: c && typeof c.system === "string" ? c.system : null,
    code: c && typeof c.code === "string" ? c.code : null,
    display: c && typeof c.display === "string" ? c.display : text,
  };
}

/**
 * Matches a CodeableConcept: built-in system|code first, then the site's mappings, then keywords in
 * `code.text` and `coding.display`. Returns null when nothing matched.
 */
export function matchConcept(codeable: unknown, mappings: MappingIndex, domain: KeywordDomain): ConceptMatch | null {
  const cc = asRecord(codeable);
  if (!cc) return null;
  const codings = Array.isArray(cc.coding) ? cc.coding : [];
  let mapped: ConceptMatch | null = null;
  for (const raw of codings) {
    const c = asRecord(raw);
    if (!c || typeof c.system !== "string" || typeof c.code !== "string") continue;
    const system = normalizeSystem(c.system);
    const written = c.code;
    const code = written.charCodeAt(0) === 32 || written.charCodeAt(written.length - 1) === 32 ? written.trim() : written;
    const display = typeof c.display === "string" ? c.display : null;
    let concept = TABLE.get(system)?.get(code);
    if (!concept && system === NDC) {
      const productKey = ndcProductKey(code);
      if (productKey) concept = TABLE.get(NDC)?.get(productKey);
    }
    if (!concept && system === ATC) {
      for (const [prefix, prefixConcept] of ATC_PREFIXES) if (code.startsWith(prefix)) concept = prefixConcept;
    }
    if (concept) return { concept, how: "system-code", system, code, display };
    if (!mapped && mappings.size > 0) {
      const siteConcept = mappings.get(`${system}|${code}`);
      if (siteConcept) mapped = { concept: siteConcept, how: "site-mapping", system, code, display };
    }
  }
  if (mapped) return mapped;
  const texts: string[] = [];
  if (typeof cc.text === "string") texts.push(cc.text);
  for (const raw of codings) {
    const c = asRecord(raw);
    if (c && typeof c.display === "string") texts.push(c.display);
  }
  for (const text of texts) {
    const concept = matchText(text, domain);
    if (concept) {
      const first = firstCoding(cc);
      return { concept, how: "text", system: first.system, code: first.code, display: text };
    }
  }
  return null;
}
