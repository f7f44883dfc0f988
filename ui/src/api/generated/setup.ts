// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { Protocol } from "./status";

/**
 * Whether the guide is still to be shown.
 */
export type SetupState = "open" | "done" | "dismissed";

/**
 * One tick of the checklist.
 */
export type ChecklistStep = "key_works" | "first_turn" | "first_judged" | "first_skill";

/**
 * A checklist item, `done_at` (Unix ms) once it happened.
 */
export type ChecklistItem = { step: ChecklistStep, label: string, done_at: number | null };

/**
 * A provider the guide offers, with what MetaClaw needs to reach it.
 */
export type Provider = "openai" | "anthropic" | "openrouter" | "ollama" | "lm_studio" | "llama_cpp" | "custom";

/**
 * A provider's preset: its address and protocol, and whether it takes a key.
 */
export type ProviderPreset = {
  provider: Provider,
  label: string,
  /**
   * Up to and including `/v1` (empty for `custom`).
   */
  base_url: string,
  protocol: Protocol,
  /**
   * A hosted service that needs a key (local servers usually don't).
   */
  needs_key: boolean,
  /**
   * Runs on this machine.
   */
  local: boolean,
};

/**
 * `GET /api/setup`.
 */
export type SetupStatus = {
  state: SetupState,
  /**
   * When the state last changed (Unix ms); `null` while open and never closed.
   */
  changed_at: number | null,
  /**
   * Key works, first turn seen, first turn judged, first skill proposed, in that order.
   */
  checklist: Array<ChecklistItem>,
  providers: Array<ProviderPreset>,
};

/**
 * `PUT /api/setup`: what the user did with the guide.
 */
export type SetupAction = "done" | "dismissed" | "reopen";

/**
 * The body of `PUT /api/setup`.
 */
export type SetupChange = { action: SetupAction };

/**
 * `POST /api/setup/test`: an upstream to try. The key is used for this one call only, sent only
 * to `base_url`, and never stored or logged.
 */
export type SetupTest = {
  provider: Provider,
  /**
   * Overrides the preset's address (required for `custom`).
   */
  base_url?: string,
  /**
   * Overrides the preset's protocol (`custom` defaults to `openai`).
   */
  protocol?: Protocol,
  key?: string,
  /**
   * Use the key already stored for this upstream (its name, e.g. `default`) when `key` is absent.
   */
  stored_key?: string,
  /**
   * Seconds to wait for the answer, 1 to 60 (default 15).
   */
  timeout_secs?: number,
};

/**
 * How a test went.
 */
export type TestOutcome =
  | "ok"
  | "bad_url"
  | "key_refused"
  | "host_not_found"
  | "connection_refused"
  | "timeout"
  | "tls"
  | "not_llm"
  | "http_error"
  | "network";

/**
 * One model the server listed.
 */
export type ListedModel = {
  id: string,
  /**
   * A cheaper sibling from the same list, suggested for the judge and the evolver.
   */
  cheaper: string | null,
};

/**
 * The answer to `POST /api/setup/test`.
 */
export type SetupTestResult = {
  outcome: TestOutcome,
  /**
   * What happened, in plain words, and what to do.
   */
  message: string,
  /**
   * The address and protocol that were tried (what to save).
   */
  base_url: string,
  protocol: Protocol,
  /**
   * The HTTP status, when the server answered.
   */
  http_status: number | null,
  /**
   * Sorted; at most [`crate::api::setup::MAX_MODELS`].
   */
  models: Array<ListedModel>,
  elapsed_ms: number,
};
