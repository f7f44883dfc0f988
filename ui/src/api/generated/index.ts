// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

export type * from "./error";
export type * from "./status";
export type * from "./learning";
export type * from "./skills";
export type * from "./scheduler";
export type * from "./calendars";
export type * from "./settings";
export type * from "./train";
export type * from "./connect";
export type * from "./setup";
export type * from "./health";
export type * from "./stats";
export type * from "./curate";
