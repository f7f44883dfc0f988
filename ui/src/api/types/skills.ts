// The engine's event stream (`GET /api/events`): the generated `Event` (from crate::events::Event)
// plus a catch-all member, so event types from newer engines pass through (ts-rs cannot express
// that). Every other type of the skills and learning resources is generated
// (../generated/skills.ts, ../generated/learning.ts).

import type { Event } from "../generated/status";
import type { Json } from "./core";

/** An event on `/api/events` (the SSE event name is the same as `type`). */
export type EngineEvent = Event | { type: string; [key: string]: Json };
