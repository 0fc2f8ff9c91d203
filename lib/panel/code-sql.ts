/**
 * The SQL that finds coded concepts in synced resources, shared by the coverage scan and the search for patients a
 * site mapping affects. It resolves each resource's concept the way the engine reads it: Observation.code and each
 * component's code, medication[x] (a CodeableConcept, else the contained or referenced Medication's code with its
 * ingredients as fallbacks, else the reference's display), Medication.code, Immunization.vaccineCode, Procedure.code.
 * Deleted resources (tombstones) are left out.
 */

/** Resource types whose codes the engine matches. */
export const CODED_RESOURCE_TYPES = ["Observation", "MedicationStatement", "MedicationRequest", "MedicationDispense", "Medication", "Immunization", "Procedure"];

const MED_KINDS = `('MedicationStatement', 'MedicationRequest', 'MedicationDispense')`;

/** jsonb array of the ingredients' itemCodeableConcepts of a Medication expression (null when none). */
function ingredientsOf(medication: string): string {
  return `(select jsonb_agg(i->'itemCodeableConcept') from jsonb_array_elements(case when jsonb_typeof(${medication}->'ingredient') = 'array' then ${medication}->'ingredient' else '[]'::jsonb end) i
           where jsonb_typeof(i->'itemCodeableConcept') = 'object')`;
}

/** fhir_resources with `resource` as jsonb (stored as json, the text as received, which reads back fastest). */
const RESOURCES_AS_JSONB = "(select source, patient_id, resource_type, id, deleted, resource::jsonb as resource from fhir_resources)";

/**
 * FROM clause yielding, per resource `r`, rows `k(part, concept, alternatives, has_components, has_members, skin_context)`.
 * The caller adds its WHERE on `r` (source, types, deleted).
 */
export const CONCEPT_ROWS_FROM = `${RESOURCES_AS_JSONB} r
  left join lateral (
    select m as med from jsonb_array_elements(case when jsonb_typeof(r.resource->'contained') = 'array' then r.resource->'contained' else '[]'::jsonb end) m
     where m->>'resourceType' = 'Medication' and '#' || (m->>'id') = r.resource->'medicationReference'->>'reference'
     limit 1
  ) contained on r.resource_type in ${MED_KINDS} and left(r.resource->'medicationReference'->>'reference', 1) = '#'
  left join ${RESOURCES_AS_JSONB} em
    on r.resource_type in ${MED_KINDS} and em.source = r.source and em.patient_id = '' and em.resource_type = 'Medication' and not em.deleted
   and r.resource->'medicationReference'->>'reference' = 'Medication/' || em.id
  cross join lateral (
    select case when r.resource_type in ${MED_KINDS} and jsonb_typeof(r.resource->'medicationCodeableConcept') is distinct from 'object'
                then coalesce(contained.med, em.resource) end as med,
           case when r.resource_type = 'Observation' and jsonb_path_exists(r.resource, 'lax $.** ? (@.code == "72514-3")')
                then lower(concat_ws(' ', r.resource->>'code', r.resource->>'bodySite', r.resource->>'method', r.resource->>'note')) ~ '(skin|eczema|dermatitis|atopic|cutaneous)'
           end as skin_context
  ) resolved
  cross join lateral (
    select r.resource_type as part, r.resource->'code' as concept, null::jsonb as alternatives,
           coalesce(jsonb_typeof(r.resource->'component') = 'array' and jsonb_array_length(r.resource->'component') > 0, false) as has_components,
           coalesce(jsonb_typeof(r.resource->'hasMember') = 'array' and jsonb_array_length(r.resource->'hasMember') > 0, false) as has_members,
           resolved.skin_context
     where r.resource_type = 'Observation'
    union all
    select 'Observation.component', c->'code', null::jsonb, false, false, resolved.skin_context
      from jsonb_array_elements(case when r.resource_type = 'Observation' and jsonb_typeof(r.resource->'component') = 'array' then r.resource->'component' else '[]'::jsonb end) c
    union all
    select r.resource_type, r.resource->'code', null::jsonb, false, false, null::boolean where r.resource_type = 'Procedure'
    union all
    select 'Immunization', r.resource->'vaccineCode', null::jsonb, false, false, null::boolean where r.resource_type = 'Immunization'
    union all
    select 'Medication', r.resource->'code', ${ingredientsOf("r.resource")}, false, false, null::boolean where r.resource_type = 'Medication'
    union all
    select r.resource_type,
           case when jsonb_typeof(r.resource->'medicationCodeableConcept') = 'object' then r.resource->'medicationCodeableConcept'
                when resolved.med is not null then resolved.med->'code'
                when jsonb_typeof(r.resource->'medicationReference'->'display') = 'string' then jsonb_build_object('text', r.resource->'medicationReference'->'display')
           end,
           case when resolved.med is not null then ${ingredientsOf("resolved.med")} end,
           false, false, null::boolean
     where r.resource_type in ${MED_KINDS}
  ) k`;
