// The admin API's JSON shapes; import from here. Most are generated from the Rust types
// (./generated, from src/api/types/; regenerate with `METACLAW_WRITE_TS=1 cargo test --lib api::types`);
// the modules under ./types are hand-written for resources not generated yet.
export type * from "./generated";
export * from "./types/skills";
export * from "./types/settings";
