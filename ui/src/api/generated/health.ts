// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * `health` in `GET /api/status`: every component, and the worst state among them.
 */
export type HealthReport = {
  /**
   * The worst state among the components (`ok` when all are ok or off).
   */
  overall: HealthState,
  /**
   * In a fixed order: upstream, judge, evolver, trainer, calendars, disk.
   */
  components: Array<ComponentHealth>,
};

/**
 * One component's health.
 */
export type ComponentHealth = {
  component: Component,
  state: HealthState,
  /**
   * The last error, in plain words (kept after recovery until the next one).
   */
  error: string | null,
  /**
   * When the last error happened (ms since epoch).
   */
  error_at_ms: number | null,
  /**
   * When the next attempt is due (ms since epoch), when known.
   */
  next_retry_ms: number | null,
  /**
   * Failures in a row since the last success.
   */
  failures: number,
  /**
   * When the current run of failures began (ms since epoch); `None` while healthy.
   */
  failing_since_ms: number | null,
};

/**
 * A part of MetaClaw whose health is watched.
 */
export type Component = "upstream" | "judge" | "evolver" | "trainer" | "calendars" | "disk";

/**
 * How a component is doing. Ordered from the least to the most worrying.
 */
export type HealthState = "off" | "ok" | "degraded" | "failing";
