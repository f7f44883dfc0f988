// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * What `GET /api/scheduler` shows.
 */
export type SchedulerStatus = {
  state: SchedulerState,
  decision: Decision,
  signals: Reading,
  job: string | null,
  jobs: Array<JobInfo>,
  timezone: string,
  activity: ActivityModel,
  updated_at: number,
};

/**
 * The scheduler's state.
 */
export type SchedulerState = "waiting" | "open" | "running" | "pausing" | "paused";

/**
 * The decision at one instant.
 */
export type Decision = {
  open: boolean,
  reason: Reason,
  /**
   * In words, for the UI and the CLI.
   */
  explanation: string,
  /**
   * While open: when the window is expected to end (ms since the epoch in JSON).
   */
  until: number | null,
  /**
   * While closed: when the next window is expected to open (ms since the epoch in JSON).
   */
  next: number | null,
};

/**
 * Why the window is open or closed.
 */
export type Reason = "asleep" | "away" | "active" | "too_short" | "meeting" | "present" | "on_battery" | "paused";

/**
 * One reading of every signal.
 */
export type Reading = {
  /**
   * Seconds since the last input or proxied request, whichever is more recent.
   */
  idle_secs: number,
  /**
   * Where the idle time came from: an OS source's name, or "requests".
   */
  idle_source: string,
  /**
   * The OS's own idle reading, if it has one.
   */
  os_idle_secs: number | null,
  /**
   * Seconds since the last proxied request; before the first one, since the engine started.
   */
  request_idle_secs: number,
  /**
   * No request (and no OS input reading) has been seen since the engine started: the idle time
   * counts from the start, which is not the user's input (a fresh install is not idle since 1970).
   */
  idle_from_start: boolean,
  on_battery: boolean | null,
  locked: boolean | null,
};

/**
 * A registered job as the status shows it.
 */
export type JobInfo = { name: string, estimate_secs: number, pending: boolean, last_run: RunInfo | null };

/**
 * One run of a job, from `job_runs`.
 */
export type RunInfo = {
  id: number,
  started_at: number,
  ended_at: number | null,
  /**
   * How it ended; `None` while it runs.
   */
  outcome: RunOutcome | null,
  window: string,
  detail: string | null,
};

/**
 * How a recorded run ended (the kind of its [`Outcome`]), as `job_runs.outcome` keeps it.
 */
export type RunOutcome = "done" | "paused" | "failed";

/**
 * The share of recent weeks in which the user was active, per hour of the week.
 */
export type ActivityModel = {
  /**
   * Monday 00:00 first; each value in 0..=1.
   */
  rate: Array<number>,
  weeks: number,
};

/**
 * A period in ms since the epoch, the query of `GET /api/scheduler/simulate` and
 * `GET /api/calendars/busy`; each route has its own default for what is left out.
 */
export type TimeRange = { from?: number, to?: number };

/**
 * `GET /api/scheduler/simulate`: the windows that would have opened (past) or are expected
 * (future) over a period.
 */
export type Simulation = {
  from: number,
  to: number,
  step_minutes: number,
  windows: Array<SimulatedWindow>,
  /**
   * Minutes of window in the period.
   */
  open_minutes: number,
};

/**
 * One simulated window.
 */
export type SimulatedWindow = { start: number, end: number, reason: Reason, explanation: string };
