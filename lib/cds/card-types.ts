/**
 * CDS Hooks 2.0 response types (cards, suggestions, actions, links) and what the card builders need from the
 * service. Types only: the wire shape is the specification's (https://cds-hooks.hl7.org/2.0/).
 */

export type CdsIndicator = "info" | "warning" | "critical";

export interface CdsCoding {
  system?: string;
  code: string;
  display?: string;
}

export interface CdsSource {
  label: string;
  url?: string;
  topic?: CdsCoding;
}

export interface CdsLink {
  label: string;
  url: string;
  type: "absolute" | "smart";
  appContext?: string;
}

export interface CdsAction {
  type: "create" | "update" | "delete";
  description: string;
  resource?: unknown;
  resourceId?: string;
}

export interface CdsSuggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: CdsAction[];
}

export interface CdsCard {
  uuid?: string;
  /** One sentence, under 140 characters. */
  summary: string;
  /** Markdown. */
  detail?: string;
  indicator: CdsIndicator;
  source: CdsSource;
  suggestions?: CdsSuggestion[];
  /** Required by the specification whenever `suggestions` is present. */
  selectionBehavior?: "at-most-one" | "any";
  overrideReasons?: CdsCoding[];
  links?: CdsLink[];
}

/** A card with the rule ids it speaks for (primary first); the service stores them by card uuid for feedback. */
export interface RuledCard {
  card: CdsCard;
  ruleIds: string[];
}

export interface CardContext {
  /** YYYY-MM-DD (the clinic's today). */
  asOf: string;
  patientId: string;
  /** The app's SMART launch URL for `links` of type "smart" (the EHR launches it with its own launch/iss). */
  appLaunchUrl: string;
  /** Makes card and suggestion uuids (the service passes crypto.randomUUID; tests pass a counter). */
  uuid: () => string;
  /** Lines to add to a card's detail when some data could not be read (the service passes them). */
  unreadable?: string[];
}
