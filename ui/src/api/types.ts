// The admin API's JSON shapes, one module per concept; import from here.
export * from "./types/core";
export * from "./types/skills";
export * from "./types/scheduler";
export * from "./types/settings";
export * from "./types/train";
