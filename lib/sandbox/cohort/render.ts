/** Turns a PatientPlan into FHIR R4 resources, with the representation variety real EHR data shows. */
import type {
  CodeableConcept,
  Condition,
  Immunization,
  Medication,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Reference,
  Resource,
} from "@medplum/fhirtypes";
import {
  ATC,
  ATOPIC_DERMATITIS,
  CVX,
  IGA_ANSWER_SYSTEM,
  IGA_GRADE_DISPLAY,
  IGRA_NEGATIVE,
  INSTRUMENT_SYSTEM,
  INSTRUMENTS,
  JAK_PRODUCTS,
  LAB,
  LOINC,
  NDC,
  NEGATIVE_ANSWER,
  OBSERVATION_CATEGORY,
  OTHER_THERAPIES,
  ROUTE_ORAL,
  ROUTE_SUBCUTANEOUS,
  ROUTE_TOPICAL,
  SITE_LOCAL_MED_SYSTEM,
  SITE_LOCAL_SYSTEM,
  SITE_MRN_SYSTEM,
  UCUM,
  VACCINES,
  type InstrumentCode,
  type JakDrug,
} from "./codes";
import { isoFromDay, localDateTime } from "./dates";
import type { CoursePlan, DosePeriod, LabEvent, MeasureKey, PatientPlan, ScoreEvent } from "./plan";
import { Rng } from "./prng";
import { CLINIC_ORGANIZATION_ID } from "./shared";

const MEASURE_CODES: Record<MeasureKey, InstrumentCode> = {
  itch: "itch-nrs",
  pain: "skin-pain-nrs",
  easi: "easi",
  iga: "iga",
  bsa: "bsa-percent",
  dlqi: "dlqi",
  poem: "poem",
  sleep: "sleep-nrs",
};

/** Sequential, deterministic ids per patient and resource kind. */
class IdCounter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly patientId: string) {}
  next(kind: string): string {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    return `${this.patientId}-${kind}-${n}`;
  }
}

export function renderPatient(plan: PatientPlan, renderSeed: number): Resource[] {
  // Lab values and small details come from their own stream so plans stay independent of rendering.
  const rng = new Rng(renderSeed, plan.index * 2 + 1);
  const ids = new IdCounter(plan.patientId);
  const subject: Reference<Patient> = { reference: `Patient/${plan.patientId}` };
  const at = (day: number, minute: number): string => localDateTime(day, minute, plan.offset);
  const resources: Resource[] = [];

  const patient: Patient = {
    resourceType: "Patient",
    id: plan.patientId,
    identifier: [{ use: "usual", system: SITE_MRN_SYSTEM, value: `MRN${String(plan.index + 700000).padStart(8, "0")}` }],
    active: true,
    name: [{ use: "official", family: plan.family, given: [plan.given] }],
    gender: plan.sex,
    birthDate: isoFromDay(plan.birthDay),
    managingOrganization: { reference: `Organization/${CLINIC_ORGANIZATION_ID}` },
  };
  resources.push(patient);

  const condition: Condition = {
    resourceType: "Condition",
    id: ids.next("cond"),
    clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
    verificationStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-ver-status", code: "confirmed" }] },
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-category", code: "problem-list-item", display: "Problem List Item" }] }],
    code: { coding: [{ ...ATOPIC_DERMATITIS }], text: "Atopic dermatitis" },
    subject,
    onsetDateTime: isoFromDay(plan.adOnsetDay),
    recordedDate: at(plan.adOnsetDay, 600),
  };
  resources.push(condition);

  for (const therapy of plan.otherTherapies) {
    const info = OTHER_THERAPIES[therapy.therapy];
    const concept: CodeableConcept = { coding: [{ system: ATC, code: info.atc }], text: info.text };
    const route = info.route === "topical" ? ROUTE_TOPICAL : info.route === "subcutaneous" ? ROUTE_SUBCUTANEOUS : ROUTE_ORAL;
    if (therapy.resource === "statement") {
      const statement: MedicationStatement = {
        resourceType: "MedicationStatement",
        id: ids.next("ms"),
        status: therapy.endDay === null ? "active" : "completed",
        medicationCodeableConcept: concept,
        subject,
        effectivePeriod: { start: at(therapy.startDay, 600), ...(therapy.endDay === null ? {} : { end: at(therapy.endDay, 600) }) },
        dosage: [{ text: info.route === "topical" ? "Apply thinly to affected areas twice daily" : "As directed", route: { coding: [{ ...route }] } }],
      };
      resources.push(statement);
    } else {
      const request: MedicationRequest = {
        resourceType: "MedicationRequest",
        id: ids.next("mr"),
        status: therapy.endDay === null ? "active" : "completed",
        intent: "order",
        medicationCodeableConcept: concept,
        subject,
        authoredOn: at(therapy.startDay, 610),
        requester: { reference: `Practitioner/${plan.practitionerId}` },
        dosageInstruction: [{ text: "Apply to affected areas as directed", route: { coding: [{ ...route }] } }],
      };
      resources.push(request);
    }
  }

  plan.courses.forEach((course, courseIndex) => {
    course.doses.forEach((dose, doseIndex) => {
      const isLastDose = doseIndex === course.doses.length - 1;
      resources.push(renderJakDose(plan, course, dose, isLastDose, courseIndex * 10 + doseIndex, ids, at));
    });
  });

  for (const course of plan.courses) {
    for (const day of course.dispenseDays ?? []) resources.push(renderDispense(plan, course, day, ids, at));
  }

  for (const trap of plan.traps) {
    const product = JAK_PRODUCTS[trap.drug];
    const concept = jakConcept(trap.drug, defaultStrength(trap.drug));
    if (trap.kind === "not-taken") {
      resources.push({
        resourceType: "MedicationStatement",
        id: ids.next("ms"),
        status: "not-taken",
        statusReason: [{ text: "Patient declined after discussing risks" }],
        medicationCodeableConcept: concept,
        subject,
        effectiveDateTime: at(trap.day, 640),
      } satisfies MedicationStatement);
    } else {
      resources.push({
        resourceType: "MedicationRequest",
        id: ids.next("mr"),
        status: "active",
        intent: "proposal",
        medicationCodeableConcept: concept,
        subject,
        authoredOn: at(trap.day, 640),
        note: [{ text: `${product.brand} discussed as an option; not ordered` }],
      } satisfies MedicationRequest);
    }
  }

  resources.push(...renderScores(plan, ids, at));

  for (const lab of plan.labs) resources.push(...renderLab(plan, lab, rng, ids, at));

  for (const vaccination of plan.vaccinations) {
    const vaccine = VACCINES[vaccination.vaccine];
    const immunization: Immunization = {
      resourceType: "Immunization",
      id: ids.next("imm"),
      status: "completed",
      vaccineCode: { coding: [{ system: CVX, code: vaccine.code, display: vaccine.display }], text: vaccine.display },
      patient: subject,
      occurrenceDateTime: at(vaccination.day, 660),
      primarySource: true,
    };
    resources.push(immunization);
  }
  return resources;
}

function defaultStrength(drug: JakDrug): string {
  return drug === "upadacitinib" ? "15" : drug === "abrocitinib" ? "100" : drug === "baricitinib" ? "4" : "1.5";
}

function productText(drug: JakDrug, strength: string): string {
  const product = JAK_PRODUCTS[drug];
  return drug === "ruxolitinib-cream"
    ? `${product.brand} (ruxolitinib) ${strength}% cream`
    : `${product.brand} (${product.ingredient}) ${strength} mg ${product.form}`;
}

function jakConcept(drug: JakDrug, strength: string): CodeableConcept {
  const product = JAK_PRODUCTS[drug];
  const coding = [];
  if (product.atc) coding.push({ system: ATC, code: product.atc, display: product.ingredient });
  const ndc = product.ndc?.[strength];
  if (ndc) coding.push({ system: NDC, code: ndc, display: productText(drug, strength) });
  return { ...(coding.length > 0 ? { coding } : {}), text: productText(drug, strength) };
}

function localJakConcept(drug: JakDrug, strength: string): CodeableConcept {
  const product = JAK_PRODUCTS[drug];
  const localDisplay =
    drug === "ruxolitinib-cream" ? `RUXOLITINIB ${strength} % EX CREA` : `${product.ingredient.toUpperCase()} ${strength} MG PO TABS`;
  const localCode = { upadacitinib: "84721", abrocitinib: "91833", baricitinib: "77410", "ruxolitinib-cream": "90017" }[drug];
  return {
    coding: [{ system: SITE_LOCAL_MED_SYSTEM, code: `${localCode}${strength.replace(".", "")}`, display: localDisplay }],
    text: drug === "ruxolitinib-cream" ? `ruxolitinib ${strength}% cream` : `${product.ingredient} ${strength} mg ${product.form}`,
  };
}

function renderDispense(plan: PatientPlan, course: CoursePlan, day: number, ids: IdCounter, at: (day: number, minute: number) => string): MedicationDispense {
  const dose = [...course.doses].reverse().find((d) => d.startDay <= day) ?? course.doses[0];
  const strength = dose?.strength ?? defaultStrength(course.drug);
  const cream = course.drug === "ruxolitinib-cream";
  const grams = course.creamGrams ?? 60;
  const days = cream ? (course.creamSupplyDays ?? 14) : 30;
  return {
    resourceType: "MedicationDispense",
    id: ids.next("md"),
    status: "completed",
    medicationCodeableConcept: jakConcept(course.drug, strength),
    subject: { reference: `Patient/${plan.patientId}` },
    quantity: cream ? { value: grams, unit: "g", system: UCUM, code: "g" } : { value: 30, unit: "tablet", system: "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", code: "TAB" },
    daysSupply: { value: days, unit: "days", system: UCUM, code: "d" },
    // Handed over in the afternoon of a day inside the course, never before its start.
    whenHandedOver: at(day, 15 * 60),
  };
}

function renderJakDose(
  plan: PatientPlan,
  course: CoursePlan,
  dose: DosePeriod,
  isLastDose: boolean,
  doseNumber: number,
  ids: IdCounter,
  at: (day: number, minute: number) => string,
): MedicationStatement | MedicationRequest {
  const subject: Reference<Patient> = { reference: `Patient/${plan.patientId}` };
  const route = course.drug === "ruxolitinib-cream" ? ROUTE_TOPICAL : ROUTE_ORAL;
  const dosageText =
    course.drug === "ruxolitinib-cream" ? "Apply a thin layer to affected areas twice daily; max 60 g per week" : "Take 1 tablet by mouth once daily";
  const ended = dose.endDay !== null;
  const status = !ended ? "active" : isLastDose ? "stopped" : "completed";
  const period = { start: at(dose.startDay, 540 + (doseNumber % 7) * 5), ...(ended ? { end: at(dose.endDay!, 540) } : {}) };
  const concept = course.representation === "statement-local" ? localJakConcept(course.drug, dose.strength) : jakConcept(course.drug, dose.strength);
  const routeConcept = { coding: [{ ...route }], text: route.display };

  if (course.representation.startsWith("statement")) {
    const statement: MedicationStatement = {
      resourceType: "MedicationStatement",
      id: ids.next("ms"),
      status,
      subject,
      effectivePeriod: period,
      dateAsserted: at(dose.startDay, 530),
      informationSource: { reference: `Practitioner/${plan.practitionerId}` },
      dosage: [{ text: dosageText, route: routeConcept }],
    };
    if (course.representation === "statement-contained") {
      const medication: Medication = { resourceType: "Medication", id: "med", code: jakConcept(course.drug, dose.strength) };
      return { ...statement, contained: [medication], medicationReference: { reference: "#med", display: productText(course.drug, dose.strength) } };
    }
    return { ...statement, medicationCodeableConcept: concept };
  }

  const useBounds = course.representation !== "request-authored" || ended;
  const request: MedicationRequest = {
    resourceType: "MedicationRequest",
    id: ids.next("mr"),
    status,
    intent: "order",
    subject,
    // Authored the same calendar day as the start so "boundsPeriod.start else authoredOn" agree on the day.
    authoredOn: at(dose.startDay, 520),
    requester: { reference: `Practitioner/${plan.practitionerId}` },
    dosageInstruction: [
      {
        text: dosageText,
        route: routeConcept,
        timing: { repeat: { ...(useBounds ? { boundsPeriod: period } : {}), frequency: course.drug === "ruxolitinib-cream" ? 2 : 1, period: 1, periodUnit: "d" } },
      },
    ],
  };
  if (course.drug === "ruxolitinib-cream" && course.creamGrams && course.creamSupplyDays) {
    request.dispenseRequest = {
      quantity: { value: course.creamGrams, unit: "g", system: UCUM, code: "g" },
      expectedSupplyDuration: { value: course.creamSupplyDays, unit: "days", system: UCUM, code: "d" },
      numberOfRepeatsAllowed: 2,
    };
  } else if (course.drug !== "ruxolitinib-cream") {
    request.dispenseRequest = {
      quantity: { value: 30, unit: "tablet", system: "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", code: "TAB" },
      expectedSupplyDuration: { value: 30, unit: "days", system: UCUM, code: "d" },
      numberOfRepeatsAllowed: 5,
    };
  }
  if (course.representation === "request-display") {
    return { ...request, medicationReference: { display: productText(course.drug, dose.strength) } };
  }
  return { ...request, medicationCodeableConcept: concept };
}

const VISIT_PANEL_CODE: CodeableConcept = {
  coding: [{ system: SITE_LOCAL_SYSTEM, code: "7702100", display: "Eczema assessment" }],
  text: "Atopic dermatitis visit assessment",
};

function renderScores(plan: PatientPlan, ids: IdCounter, at: (day: number, minute: number) => string): Observation[] {
  const out: Observation[] = [];
  let visit: ScoreEvent[] = [];
  let visitMembers: Observation[] = [];
  // Clinic scores of one visit share day and minute; a visit closes when the next score differs.
  const closeVisit = () => {
    const first = visit[0];
    if (first && plan.visitPanels === "components") {
      out.push({
        ...scoreEnvelope(plan, first, "final", ids, at),
        code: VISIT_PANEL_CODE,
        component: visit.map((score) => ({ code: scoreCode(score), ...scoreValue(score, writtenValue(score)) })),
      });
    } else if (first && plan.visitPanels === "hasMember" && visitMembers.length > 1) {
      out.push({
        ...scoreEnvelope(plan, first, "final", ids, at),
        code: VISIT_PANEL_CODE,
        hasMember: visitMembers.map((member) => ({ reference: `Observation/${member.id}` })),
      });
    }
    visit = [];
    visitMembers = [];
  };
  for (const score of plan.scores) {
    const sameVisit = visit[0] !== undefined && visit[0].day === score.day && visit[0].minuteOfDay === score.minuteOfDay;
    if (!sameVisit) closeVisit();
    if (score.source === "clinic") visit.push(score);
    if (plan.visitPanels === "components" && score.source === "clinic") continue;
    const observation = renderScore(plan, score, writtenValue(score), score.status, ids, at);
    out.push(observation);
    if (score.source === "clinic") visitMembers.push(observation);
    if (score.enteredInErrorValue !== undefined) out.push(renderScore(plan, score, score.enteredInErrorValue, "entered-in-error", ids, at));
  }
  closeVisit();
  return out;
}

function writtenValue(score: ScoreEvent): number {
  return score.outOfRangeTypo ? Math.round(score.value * 100) / 10 : score.value;
}

function scoreCode(score: ScoreEvent): CodeableConcept {
  const instrument = MEASURE_CODES[score.measure];
  const info = INSTRUMENTS[instrument];
  if (score.coding === "local") return { coding: [{ system: SITE_LOCAL_SYSTEM, code: info.localCode, display: info.localText }], text: info.localText };
  if (score.coding === "loinc-pain") {
    return {
      coding: [{ system: LOINC, code: "72514-3", display: "Pain severity - 0-10 verbal numeric rating [Score] - Reported" }],
      text: "Skin pain severity (eczema), 0-10",
    };
  }
  return { coding: [{ system: INSTRUMENT_SYSTEM, code: instrument, display: info.display }], text: info.display };
}

type ScoreValue = Pick<Observation, "valueQuantity" | "valueInteger" | "valueString" | "valueCodeableConcept">;

function scoreValue(score: ScoreEvent, value: number): ScoreValue {
  const info = INSTRUMENTS[MEASURE_CODES[score.measure]];
  if (score.valueForm === "coded" && score.measure === "iga") {
    const grade = IGA_GRADE_DISPLAY[value] ?? "Moderate";
    return { valueCodeableConcept: { coding: [{ system: IGA_ANSWER_SYSTEM, code: String(value), display: grade }], text: `${value} - ${grade}` } };
  }
  if (score.valueForm === "integer" && Number.isInteger(value)) return { valueInteger: value };
  if (score.valueForm === "string") return { valueString: String(value) };
  return { valueQuantity: { value, unit: info.unit === "%" ? "%" : "score", system: UCUM, code: info.unit } };
}

/** Everything of a score Observation except its code and value. */
function scoreEnvelope(
  plan: PatientPlan,
  score: ScoreEvent,
  status: Observation["status"],
  ids: IdCounter,
  at: (day: number, minute: number) => string,
): Observation {
  const categoryCode = score.source === "clinic" && (score.measure === "easi" || score.measure === "bsa") && score.minuteOfDay % 3 === 0 ? "exam" : "survey";
  return {
    resourceType: "Observation",
    id: ids.next("obs"),
    status,
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: categoryCode, display: categoryCode === "exam" ? "Exam" : "Survey" }] }],
    code: {},
    subject: { reference: `Patient/${plan.patientId}` },
    effectiveDateTime: at(score.day, score.minuteOfDay),
    issued: at(score.day, Math.min(score.minuteOfDay + 7, 1439)),
    performer: [score.source === "diary" ? { reference: `Patient/${plan.patientId}` } : { reference: `Practitioner/${plan.practitionerId}` }],
  };
}

function renderScore(
  plan: PatientPlan,
  score: ScoreEvent,
  value: number,
  status: Observation["status"],
  ids: IdCounter,
  at: (day: number, minute: number) => string,
): Observation {
  const observation: Observation = { ...scoreEnvelope(plan, score, status, ids, at), code: scoreCode(score), ...scoreValue(score, value) };
  if (status === "amended") observation.note = [{ text: "Value corrected after review of the visit form" }];
  if (score.source === "diary") observation.method = { text: score.measure === "itch" || score.measure === "pain" ? "Daily patient diary (app)" : "Patient diary" };
  return observation;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function renderLab(plan: PatientPlan, lab: LabEvent, rng: Rng, ids: IdCounter, at: (day: number, minute: number) => string): Observation[] {
  const base = (code: { code: string; display: string }, text?: string): Observation => ({
    resourceType: "Observation",
    id: ids.next("lab"),
    status: "final",
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: "laboratory", display: "Laboratory" }] }],
    code: { coding: [{ system: LOINC, code: code.code, display: code.display }], text: text ?? code.display },
    subject: { reference: `Patient/${plan.patientId}` },
    effectiveDateTime: at(lab.day, lab.minuteOfDay),
    issued: at(lab.day, Math.min(lab.minuteOfDay + 240, 1439)),
  });
  const quantity = (value: number, ucum: string, unit = ucum) => ({ value, unit, system: UCUM, code: ucum });
  const si = lab.units === "si";
  const out: Observation[] = [];
  switch (lab.kind) {
    case "cbc": {
      const hemoglobin = round(rng.between(12.2, 15.8), 1);
      const neutrophils = lab.lowNeutrophils ? round(rng.between(0.55, 0.9), 2) : round(rng.between(2.1, 6.0), 1);
      const members: Observation[] = [
        { ...base(LAB.hemoglobin, "Hemoglobin"), valueQuantity: si ? quantity(Math.round(hemoglobin * 10), "g/L") : quantity(hemoglobin, "g/dL") },
        { ...base(LAB.wbc, "WBC"), valueQuantity: quantity(round(rng.between(4.5, 9.5), 1), si ? "10*9/L" : "10*3/uL") },
        { ...base(LAB.neutrophils, "Neutrophils, absolute"), valueQuantity: quantity(neutrophils, si ? "10*9/L" : "10*3/uL") },
        { ...base(LAB.lymphocytes, "Lymphocytes, absolute"), valueQuantity: quantity(round(rng.between(1.1, 3.2), 1), si ? "10*9/L" : "10*3/uL") },
        { ...base(LAB.platelets, "Platelets"), valueQuantity: quantity(rng.int(185, 390), si ? "10*9/L" : "10*3/uL") },
      ];
      for (const member of members) {
        member.referenceRange = referenceRangeFor(member);
      }
      out.push(...members);
      if (lab.lowNeutrophils) {
        const anc = members[2];
        if (anc) anc.interpretation = [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code: "LL", display: "Critical low" }] }];
      }
      if (lab.withPanel) {
        out.push({ ...base(LAB.cbcPanel, "CBC"), hasMember: members.map((m) => ({ reference: `Observation/${m.id}` })) });
      }
      if (lab.enteredInErrorDuplicate) {
        const platelets = members[4];
        if (platelets) out.push({ ...platelets, id: ids.next("lab"), status: "entered-in-error", valueQuantity: quantity(rng.int(20, 40), si ? "10*9/L" : "10*3/uL") });
      }
      break;
    }
    case "liver": {
      const upperLimit = rng.chance(0.5) ? 40 : 55;
      for (const [code, text] of [[LAB.alt, "ALT"], [LAB.ast, "AST"]] as const) {
        out.push({
          ...base(code, text),
          valueQuantity: quantity(rng.int(12, 38), "U/L"),
          referenceRange: [{ low: quantity(7, "U/L"), high: quantity(upperLimit, "U/L") }],
        });
      }
      break;
    }
    case "lipids": {
      const cholesterolMgDl = rng.int(150, 235);
      const hdlMgDl = rng.int(38, 75);
      const triglyceridesMgDl = rng.int(70, 190);
      if (si) {
        out.push({ ...base(LAB.cholesterolMoles, "Cholesterol, total"), valueQuantity: quantity(round(cholesterolMgDl / 38.67, 2), "mmol/L") });
        out.push({ ...base(LAB.hdlMoles, "HDL cholesterol"), valueQuantity: quantity(round(hdlMgDl / 38.67, 2), "mmol/L") });
        out.push({ ...base(LAB.triglyceridesMoles, "Triglycerides"), valueQuantity: quantity(round(triglyceridesMgDl / 88.57, 2), "mmol/L") });
      } else {
        out.push({ ...base(LAB.cholesterolMass, "Cholesterol, total"), valueQuantity: quantity(cholesterolMgDl, "mg/dL") });
        out.push({ ...base(LAB.ldlCalc, "LDL cholesterol (calculated)"), valueQuantity: quantity(Math.max(40, cholesterolMgDl - hdlMgDl - Math.round(triglyceridesMgDl / 5)), "mg/dL") });
        out.push({ ...base(LAB.hdlMass, "HDL cholesterol"), valueQuantity: quantity(hdlMgDl, "mg/dL") });
        out.push({ ...base(LAB.triglyceridesMass, "Triglycerides"), valueQuantity: quantity(triglyceridesMgDl, "mg/dL") });
      }
      break;
    }
    case "tb-screen":
      out.push({ ...base(LAB.igra, "QuantiFERON-TB Gold Plus interpretation"), valueCodeableConcept: { coding: [{ ...IGRA_NEGATIVE }], text: "Negative" } });
      break;
    case "hbv-screen":
      out.push({ ...base(LAB.hbsag, "Hepatitis B surface antigen"), valueCodeableConcept: { coding: [{ ...NEGATIVE_ANSWER }], text: "Non-reactive" } });
      out.push({ ...base(LAB.antiHbc, "Hepatitis B core antibody, total"), valueCodeableConcept: { coding: [{ ...NEGATIVE_ANSWER }], text: "Non-reactive" } });
      break;
    case "hcv-screen":
      out.push({ ...base(LAB.antiHcv, "Hepatitis C antibody"), valueCodeableConcept: { coding: [{ ...NEGATIVE_ANSWER }], text: "Non-reactive" } });
      break;
    case "pregnancy":
      out.push({ ...base(LAB.hcgSerum, "hCG, serum, quantitative"), valueQuantity: quantity(round(rng.between(0.5, 2.5), 1), "m[IU]/mL", "mIU/mL") });
      break;
  }
  return out;
}

function referenceRangeFor(observation: Observation): Observation["referenceRange"] {
  const unit = observation.valueQuantity?.code ?? "";
  const q = (value: number) => ({ value, unit, system: UCUM, code: unit });
  switch (observation.code?.coding?.[0]?.code) {
    case LAB.hemoglobin.code:
      return unit === "g/L" ? [{ low: q(120), high: q(170) }] : [{ low: q(12), high: q(17) }];
    case LAB.neutrophils.code:
      return [{ low: q(1.8), high: q(7.7) }];
    case LAB.lymphocytes.code:
      return [{ low: q(1.0), high: q(4.8) }];
    case LAB.platelets.code:
      return [{ low: q(150), high: q(400) }];
    default:
      return [{ low: q(4.0), high: q(11.0) }];
  }
}
