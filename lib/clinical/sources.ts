/**
 * Sources a clinician can follow: every rule names the label section, trial publication or guideline behind it,
 * with a link (DailyMed for US labels, the EMA product page for EU SmPCs, doi.org for publications).
 *
 * DailyMed set ids and DOIs were checked against the published pages (November 2026).
 */
import type { DrugId } from "./types";
import { DEFAULT_RULES, type RuleSet } from "./rules";

export type SourceKind = "us-label" | "eu-label" | "trial" | "guideline" | "reference";

export interface RuleSource {
  id: string;
  kind: SourceKind;
  label: string;
  url: string;
}

const dailymed = (setid: string) => `https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=${setid}`;
const epar = (product: string) => `https://www.ema.europa.eu/en/medicines/human/EPAR/${product}`;
const doi = (id: string) => `https://doi.org/${id}`;

const RINVOQ_US = dailymed("2966aec7-2ef0-923c-d8ff-fe1a957bf095");
const CIBINQO_US = dailymed("16c12a56-4550-414b-ac9d-b785b41fea6b");
const OLUMIANT_US = dailymed("866e9f35-9035-4581-a4b1-75a621ab55cf");
const OPZELURA_US = dailymed("24da5509-6631-4795-9d42-273faecd08e7");

const SOURCE_LIST: RuleSource[] = [
  // US Prescribing Information (DailyMed)
  { id: "rinvoq-us-pi-labs", kind: "us-label", label: "Rinvoq (upadacitinib) US Prescribing Information, sections 2 and 5.8 (laboratory evaluations and abnormalities)", url: RINVOQ_US },
  { id: "rinvoq-us-pi-5.1", kind: "us-label", label: "Rinvoq (upadacitinib) US Prescribing Information, section 5.1 (serious infections: TB and viral hepatitis screening)", url: RINVOQ_US },
  { id: "rinvoq-us-pi-8.3", kind: "us-label", label: "Rinvoq (upadacitinib) US Prescribing Information, section 8.3 (pregnancy testing before the first dose)", url: RINVOQ_US },
  { id: "rinvoq-hcp-monitoring", kind: "us-label", label: "Rinvoq HCP site, atopic dermatitis monitoring (labs at baseline, week 12 and periodically, per the US label)", url: "https://www.rinvoqhcp.com/atopic-dermatitis/monitoring" },
  { id: "cibinqo-us-pi-2.2", kind: "us-label", label: "Cibinqo (abrocitinib) US Prescribing Information, section 2.2 (recommended dosage: 100 mg, 200 mg if the response is inadequate)", url: CIBINQO_US },
  { id: "cibinqo-us-pi-labs", kind: "us-label", label: "Cibinqo (abrocitinib) US Prescribing Information, sections 2.1 and 5.6 (laboratory evaluations and abnormalities)", url: CIBINQO_US },
  { id: "cibinqo-us-pi-5.1", kind: "us-label", label: "Cibinqo (abrocitinib) US Prescribing Information, section 5.1 (serious infections: TB and viral hepatitis screening)", url: CIBINQO_US },
  { id: "olumiant-us-pi", kind: "us-label", label: "Olumiant (baricitinib) US Prescribing Information, Warnings and Precautions (laboratory abnormalities; atopic dermatitis is not a US indication)", url: OLUMIANT_US },
  { id: "opzelura-us-pi-1", kind: "us-label", label: "Opzelura (ruxolitinib) cream US Prescribing Information, section 1 (indication: topical use)", url: OPZELURA_US },
  { id: "opzelura-us-pi-2.1", kind: "us-label", label: "Opzelura (ruxolitinib) cream US Prescribing Information, section 2.1 (up to 20% BSA, 60 g per week, re-examine at 8 weeks)", url: OPZELURA_US },
  { id: "opzelura-us-pi-5.1", kind: "us-label", label: "Opzelura (ruxolitinib) cream US Prescribing Information, section 5.1 (serious infections: consider TB evaluation)", url: OPZELURA_US },
  // EU Summaries of Product Characteristics (EMA product pages)
  { id: "rinvoq-eu-smpc-4.2", kind: "eu-label", label: "Rinvoq EU SmPC, section 4.2 (posology: consider stopping without benefit after 12 weeks; laboratory thresholds)", url: epar("rinvoq") },
  { id: "rinvoq-eu-smpc-4.4", kind: "eu-label", label: "Rinvoq EU SmPC, section 4.4 (warnings: vaccinations, laboratory parameters)", url: epar("rinvoq") },
  { id: "cibinqo-eu-smpc-4.2", kind: "eu-label", label: "Cibinqo EU SmPC, section 4.2 (posology: consider stopping without benefit after 24 weeks; start thresholds)", url: epar("cibinqo") },
  { id: "cibinqo-eu-smpc-4.4", kind: "eu-label", label: "Cibinqo EU SmPC, section 4.4 (warnings: vaccinations, laboratory parameters)", url: epar("cibinqo") },
  { id: "olumiant-eu-smpc-4.2", kind: "eu-label", label: "Olumiant EU SmPC, section 4.2 (posology: atopic dermatitis; laboratory thresholds)", url: epar("olumiant") },
  { id: "olumiant-eu-smpc-4.4", kind: "eu-label", label: "Olumiant EU SmPC, section 4.4 (warnings: vaccinations, laboratory parameters)", url: epar("olumiant") },
  // Swiss label: the only one stating the 8-week stop for baricitinib in AD; ODDB mirrors the Swissmedic text with a stable link.
  { id: "olumiant-ch-fachinfo", kind: "reference", label: "Olumiant Swiss product information (Fachinformation), Dosierung/Anwendung: stop if no improvement after 8 weeks", url: "https://ch.oddb.org/de/gcc/fachinfo/reg/66215/chapter/usage" },
  // Trial publications
  { id: "measure-up-2021", kind: "trial", label: "Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021)", url: doi("10.1016/S0140-6736(21)00588-2") },
  { id: "measure-up-pro-2024", kind: "trial", label: "Measure Up 1/2 patient-reported outcomes from week 1 (Silverberg et al., Am J Clin Dermatol 2024)", url: doi("10.1007/s40257-024-00853-4") },
  { id: "jade-mono-1-2020", kind: "trial", label: "JADE MONO-1 (Simpson et al., Lancet 2020)", url: doi("10.1016/S0140-6736(20)30732-7") },
  { id: "jade-mono-2-2020", kind: "trial", label: "JADE MONO-2 (Silverberg et al., JAMA Dermatol 2020)", url: doi("10.1001/jamadermatol.2020.1406") },
  { id: "breeze-ad-2020", kind: "trial", label: "BREEZE-AD1/2 (Simpson et al., Br J Dermatol 2020)", url: doi("10.1111/bjd.18898") },
  { id: "true-ad-2021", kind: "trial", label: "TRuE-AD1/2 (Papp et al., J Am Acad Dermatol 2021)", url: doi("10.1016/j.jaad.2021.04.085") },
  // Measurement references behind the criteria
  { id: "yosipovitch-2019", kind: "reference", label: "Peak Pruritus NRS responder definition, 4 points (Yosipovitch et al., Br J Dermatol 2019)", url: doi("10.1111/bjd.17744") },
  { id: "silverberg-skin-pain-2021", kind: "reference", label: "Skin-pain NRS validation, MCID 2.2-2.9 points (Silverberg et al., Arch Dermatol Res 2021)", url: doi("10.1007/s00403-021-02185-3") },
  { id: "ucum", kind: "reference", label: "UCUM, the Unified Code for Units of Measure (units the lab thresholds are converted from)", url: "https://ucum.org" },
  // Guidelines
  { id: "acip-rzv-2022", kind: "guideline", label: "ACIP: recombinant zoster vaccine for immunocompromised adults aged 19 and older (MMWR 2022;71:80-84)", url: "https://www.cdc.gov/mmwr/volumes/71/wr/mm7103a2.htm" },
  { id: "cdc-altered-immunocompetence", kind: "guideline", label: "CDC/ACIP General Best Practice Guidelines for Immunization: altered immunocompetence (live vaccines)", url: "https://www.cdc.gov/vaccines/hcp/acip-recs/general-recs/immunocompetence.html" },
];

export const RULE_SOURCES: Readonly<Record<string, RuleSource>> = Object.freeze(Object.fromEntries(SOURCE_LIST.map((s) => [s.id, Object.freeze(s)])));

/** What a rule with no recorded source shows (a site rule without `sources`): honest, and still a place to look. */
export const NO_SOURCE: RuleSource = Object.freeze({
  id: "no-source",
  kind: "reference",
  label: "No source recorded for this rule: see the drug's label on DailyMed",
  url: "https://dailymed.nlm.nih.gov/dailymed/",
});

function resolve(ids: readonly string[] | undefined): RuleSource[] {
  const out: RuleSource[] = [];
  for (const id of ids ?? []) {
    const s = RULE_SOURCES[id];
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** The part of a rule that names its sources (RuleDefinition, CheckpointRule). */
export interface SourcedRule {
  sources?: readonly string[];
  sourcesByDrug?: Partial<Record<DrugId, readonly string[]>>;
}

function findRule(ruleId: string, rules: RuleSet): SourcedRule | undefined {
  const def = rules.rules[ruleId];
  if (def) return def;
  for (const drug of Object.values(rules.drugs)) {
    const cp = drug.checkpoints.find((c) => c.ruleId === ruleId);
    if (cp) return cp;
  }
  return undefined;
}

/**
 * The sources a rule names, primary first; with `drug`, the drug's own label leads for a rule shared by several
 * drugs. Falls back to the drug's sources (from `rules`), then to NO_SOURCE: never empty.
 */
export function sourcesOfDefinition(rule: SourcedRule | undefined, drug?: DrugId, rules: RuleSet = DEFAULT_RULES): RuleSource[] {
  const forDrug = drug ? resolve(rule?.sourcesByDrug?.[drug]) : [];
  const general = resolve(rule?.sources);
  const list = forDrug.length > 0 ? [...forDrug, ...general.filter((s) => !forDrug.includes(s))] : general;
  if (list.length > 0) return list;
  const drugSources = drug ? resolve((rules.drugs[drug] ?? DEFAULT_RULES.drugs[drug])?.sources) : [];
  return drugSources.length > 0 ? drugSources : [NO_SOURCE];
}

/**
 * The sources of a rule id (RuleDefinition ids and checkpoint rule ids), primary first; never empty.
 * With `drug`, a rule shared by several drugs (labs, abnormal results, vaccination) leads with that drug's label.
 * A rule the given set leaves out falls back to the default rules, then to the drug's own sources.
 */
export function sourcesOfRule(ruleId: string, rules: RuleSet = DEFAULT_RULES, drug?: DrugId): RuleSource[] {
  return sourcesOfDefinition(findRule(ruleId, rules) ?? findRule(ruleId, DEFAULT_RULES), drug, rules);
}

/** The primary source of a rule: what a flag, a card and the copied note link to. */
export function primarySourceOfRule(ruleId: string, rules: RuleSet = DEFAULT_RULES, drug?: DrugId): RuleSource {
  return sourcesOfRule(ruleId, rules, drug)[0]!;
}
