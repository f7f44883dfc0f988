// Old names of generated types, for the hand-written type modules that still use them
// (settings.ts, skills.ts); delete this file with them. Not re-exported from ../types.
import type { JsonValue, Protocol } from "../generated";

export type { Auth, Problem, SecretSource } from "../generated";
/** serde_json::Value */
export type Json = JsonValue;
/** crate::config::Protocol (its old name) */
export type Kind = Protocol;
