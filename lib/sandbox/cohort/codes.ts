/** Terminology the generator writes, taken from /work/shared/clinical-reference.md. */
export const INSTRUMENT_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/instrument";
export const APP_ROLE_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role";
export const LOINC = "http://loinc.org";
export const UCUM = "http://unitsofmeasure.org";
export const SNOMED = "http://snomed.info/sct";
export const ATC = "http://www.whocc.no/atc";
export const NDC = "http://hl7.org/fhir/sid/ndc";
export const CVX = "http://hl7.org/fhir/sid/cvx";
export const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
/** A synthetic site-local code system in the style of an Epic flowsheet OID (not a real one). */
export const SITE_LOCAL_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282";
export const SITE_LOCAL_MED_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288";
export const SITE_MRN_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0";
export const IGA_ANSWER_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/iga-grade";

export const ATOPIC_DERMATITIS = { system: SNOMED, code: "24079001", display: "Atopic dermatitis (disorder)" } as const;
export const ROUTE_TOPICAL = { system: SNOMED, code: "6064005", display: "Topical route" } as const;
export const ROUTE_ORAL = { system: SNOMED, code: "26643006", display: "Oral route" } as const;
export const ROUTE_SUBCUTANEOUS = { system: SNOMED, code: "34206005", display: "Subcutaneous route" } as const;

/** Measures the generator records; keys are the app CodeSystem codes. */
export const INSTRUMENTS = {
  "itch-nrs": { display: "Worst itch NRS (24 h)", localCode: "7702101", localText: "Peak itch NRS", unit: "{score}" },
  "skin-pain-nrs": { display: "Skin pain NRS (24 h)", localCode: "7702102", localText: "Skin pain score (0-10)", unit: "{score}" },
  easi: { display: "EASI total score", localCode: "7702103", localText: "EASI score", unit: "{score}" },
  iga: { display: "vIGA-AD", localCode: "7702104", localText: "Investigator Global Assessment (vIGA-AD)", unit: "{score}" },
  "bsa-percent": { display: "Body surface area affected by eczema", localCode: "7702105", localText: "% BSA affected", unit: "%" },
  dlqi: { display: "DLQI total score", localCode: "7702106", localText: "DLQI total", unit: "{score}" },
  poem: { display: "POEM total score", localCode: "7702107", localText: "POEM score", unit: "{score}" },
  "sleep-nrs": { display: "Sleep loss NRS", localCode: "7702108", localText: "Sleep loss NRS", unit: "{score}" },
} as const;
export type InstrumentCode = keyof typeof INSTRUMENTS;

export const IGA_GRADE_DISPLAY = ["Clear", "Almost clear", "Mild", "Moderate", "Severe"] as const;

/** LOINC lab codes with the unit variants the generator writes. */
export const LAB = {
  cbcPanel: { code: "58410-2", display: "CBC panel - Blood by Automated count" },
  hemoglobin: { code: "718-7", display: "Hemoglobin [Mass/volume] in Blood" },
  wbc: { code: "6690-2", display: "Leukocytes [#/volume] in Blood by Automated count" },
  neutrophils: { code: "751-8", display: "Neutrophils [#/volume] in Blood by Automated count" },
  lymphocytes: { code: "731-0", display: "Lymphocytes [#/volume] in Blood by Automated count" },
  platelets: { code: "777-3", display: "Platelets [#/volume] in Blood by Automated count" },
  alt: { code: "1742-6", display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma" },
  ast: { code: "1920-8", display: "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma" },
  lipidPanel: { code: "57698-3", display: "Lipid panel with direct LDL - Serum or Plasma" },
  cholesterolMass: { code: "2093-3", display: "Cholesterol [Mass/volume] in Serum or Plasma" },
  cholesterolMoles: { code: "14647-2", display: "Cholesterol [Moles/volume] in Serum or Plasma" },
  ldlCalc: { code: "13457-7", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation" },
  hdlMass: { code: "2085-9", display: "Cholesterol in HDL [Mass/volume] in Serum or Plasma" },
  hdlMoles: { code: "14646-4", display: "Cholesterol in HDL [Moles/volume] in Serum or Plasma" },
  triglyceridesMass: { code: "2571-8", display: "Triglyceride [Mass/volume] in Serum or Plasma" },
  triglyceridesMoles: { code: "14927-8", display: "Triglyceride [Moles/volume] in Serum or Plasma" },
  igra: { code: "71773-6", display: "Mycobacterium tuberculosis stimulated gamma interferon [Interpretation] in Blood" },
  hbsag: { code: "5196-1", display: "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay" },
  antiHbc: { code: "16933-4", display: "Hepatitis B virus core Ab [Presence] in Serum" },
  antiHcv: { code: "16128-1", display: "Hepatitis C virus Ab [Presence] in Serum" },
  hcgSerum: { code: "21198-7", display: "Choriogonadotropin.beta subunit [Units/volume] in Serum or Plasma" },
} as const;

export const IGRA_NEGATIVE = { system: LOINC, code: "LA6577-6", display: "Negative" } as const;
export const NEGATIVE_ANSWER = { system: SNOMED, code: "260385009", display: "Negative" } as const;

export type JakDrug = "upadacitinib" | "abrocitinib" | "baricitinib" | "ruxolitinib-cream";

/** How each JAK product is named and coded (ATC for orals, NDC for the cream and Rinvoq). */
export const JAK_PRODUCTS: Record<JakDrug, { atc?: string; brand: string; ingredient: string; form: string; ndc?: Record<string, string> }> = {
  upadacitinib: { atc: "L04AF03", brand: "Rinvoq", ingredient: "upadacitinib", form: "extended-release tablet", ndc: { "15": "0074-2310-30", "30": "0074-2320-30" } },
  abrocitinib: { atc: "D11AH08", brand: "Cibinqo", ingredient: "abrocitinib", form: "tablet" },
  baricitinib: { atc: "L04AF02", brand: "Olumiant", ingredient: "baricitinib", form: "tablet" },
  "ruxolitinib-cream": { brand: "Opzelura", ingredient: "ruxolitinib", form: "1.5% cream", ndc: { "1.5": "50881-007-01" } },
};

/** Prior and concurrent non-JAK therapies for the sequencing timeline. */
export const OTHER_THERAPIES = {
  triamcinolone: { atc: "D07AB09", text: "Triamcinolone acetonide 0.1% cream", route: "topical" },
  hydrocortisone: { atc: "D07AA02", text: "Hydrocortisone 2.5% ointment", route: "topical" },
  clobetasol: { atc: "D07AD01", text: "Clobetasol propionate 0.05% ointment", route: "topical" },
  tacrolimus: { atc: "D11AH01", text: "Tacrolimus 0.1% ointment", route: "topical" },
  pimecrolimus: { atc: "D11AH02", text: "Pimecrolimus 1% cream", route: "topical" },
  dupilumab: { atc: "D11AH05", text: "Dupixent (dupilumab) 300 mg/2 mL prefilled pen", route: "subcutaneous" },
  tralokinumab: { atc: "D11AH07", text: "Adbry (tralokinumab) 150 mg/mL prefilled syringe", route: "subcutaneous" },
} as const;
export type OtherTherapy = keyof typeof OTHER_THERAPIES;

export const VACCINES = {
  zosterRecombinant: { code: "187", display: "zoster vaccine recombinant" },
  zosterLive: { code: "121", display: "zoster vaccine, live" },
  influenza: { code: "150", display: "Influenza, injectable, quadrivalent, preservative free" },
  covid: { code: "213", display: "SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION" },
} as const;
