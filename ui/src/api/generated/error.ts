// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * What every admin API error looks like: `{"error": {"code", "message", "problems"?}}`.
 */
export type ErrorBody = { error: ErrorDetail };

/**
 * The inside of [`ErrorBody`].
 */
export type ErrorDetail = {
  code: ErrorCode,
  /**
   * Plain words for the user.
   */
  message: string,
  /**
   * What is wrong with a skill (only with `invalid`).
   */
  problems?: Array<Problem>,
};

/**
 * What went wrong, for callers to branch on (the HTTP status says it too).
 */
export type ErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "bad_request"
  | "conflict"
  | "invalid"
  | "unavailable"
  | "request_timeout"
  | "too_large"
  | "keyring_unavailable"
  | "store_error";

/**
 * A problem with one SKILL.md, located for the user.
 */
export type Problem = { file: string, line: number | null, reason: string };
