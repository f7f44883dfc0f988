// The admin API's JSON shapes, generated from the Rust types (./generated, from src/api/types/;
// regenerate with `METACLAW_WRITE_TS=1 cargo test --lib api::types`); import from here.
export type * from "./generated";
/** An event on `/api/events` (the SSE event name is its `type`); renamed because the DOM has an `Event`. */
export type { Event as EngineEvent } from "./generated";
export type * from "./types/host";
