// The admin API's JSON shapes for the scheduler and calendars.
// Each mirrors the Rust item it names, field for field (serde names); tests/ui/api-types.test.mjs
// checks them against the engine's real responses. Times are ms since the epoch; Option<T> is T | null.

// ---------------------------------------------------------------------------------------------
// The scheduler (OMLS in the paper)

/** crate::scheduler::decide::Reason (rename_all = "snake_case") */
export type Reason = "asleep" | "away" | "active" | "too_short" | "meeting" | "present" | "on_battery" | "paused";

/** crate::scheduler::decide::Decision (`until`, `next` as ms) */
export interface Decision {
  open: boolean;
  reason: Reason | string;
  /** In words, for the UI and the CLI. */
  explanation: string;
  /** While open: when the window is expected to end. */
  until: number | null;
  /** While closed: when the next window is expected to open. */
  next: number | null;
}

/** crate::scheduler::activity::ActivityModel */
export interface ActivityModel {
  /** 168 values in 0..=1, Monday 00:00 first. */
  rate: number[];
  weeks: number;
}

/** crate::scheduler::runner::State (rename_all = "snake_case") */
export type SchedulerState = "waiting" | "open" | "running" | "pausing" | "paused";

/** crate::scheduler::signals::Reading */
export interface Reading {
  /** Seconds since the last input or proxied request, whichever is more recent. */
  idle_secs: number;
  /** An OS source's name, or "requests". */
  idle_source: string;
  os_idle_secs: number | null;
  request_idle_secs: number;
  /** No request (and no OS input reading) since the engine started: the idle time counts from the start. */
  idle_from_start: boolean;
  on_battery: boolean | null;
  locked: boolean | null;
}

/** crate::scheduler::runner::RunInfo */
export interface RunInfo {
  id: number;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  window: string;
  detail: string | null;
}

/** crate::scheduler::runner::JobInfo */
export interface JobInfo {
  name: string;
  estimate_secs: number;
  pending: boolean;
  last_run: RunInfo | null;
}

/** crate::scheduler::runner::Status (`GET /api/scheduler`) */
export interface SchedulerStatus {
  state: SchedulerState | string;
  decision: Decision;
  signals: Reading;
  /** The job running now. */
  job: string | null;
  jobs: JobInfo[];
  timezone: string;
  activity: ActivityModel;
  updated_at: number;
}

/** crate::scheduler::simulate::Window */
export interface SimulatedWindow {
  start: number;
  end: number;
  reason: Reason | string;
  explanation: string;
}

/** crate::api::scheduler::Simulation (`GET /api/scheduler/simulate?from&to`) */
export interface Simulation {
  from: number;
  to: number;
  step_minutes: number;
  windows: SimulatedWindow[];
  /** Minutes of window in the period. */
  open_minutes: number;
}

// ---------------------------------------------------------------------------------------------
// Calendars (issues 7 and 16)

/** crate::calendar::Kind (rename_all = "lowercase"): an ICS address or file, or an account. */
export type CalendarKind = "url" | "file" | "caldav" | "google" | "microsoft";

/** crate::calendar::State (rename_all = "snake_case"): "sign_in_again" when a provider no longer accepts its sign-in. */
export type CalendarState = "ok" | "error" | "sign_in_again";

/** crate::calendar::CalendarEntry: one calendar of a CalDAV, Google or Microsoft account. */
export interface CalendarEntry {
  id: number;
  name: string;
  /** "#rrggbb" when the server has one. */
  color: string | null;
  /** The user's own event calendar (not subscribed, shared read-only or holidays). */
  own: boolean;
  /** Counts as busy. */
  included: boolean;
  events: number;
  last_error: string | null;
}

/** crate::calendar::Account (one account of `GET /api/calendars`) */
export interface CalendarAccount {
  id: number;
  name: string;
  kind: CalendarKind;
  /** host or file path, CalDAV server host or signed-in address; never the secret URL */
  display: string;
  /** The user's addresses, whose declined invitations don't count as busy. */
  owner?: string[];
  enabled: boolean;
  last_sync: number | null;
  last_error: string | null;
  events: number;
  /** Environment variable that may hold a URL account's address (headless servers). */
  env_var?: string | null;
  /** What to know about a feed just added (only in the answer to an add). */
  warnings?: string[];
  /** CalDAV user name or the signed-in address. */
  user: string | null;
  state: CalendarState;
  /** The account's calendars; [] for ICS addresses and files. */
  calendars: CalendarEntry[];
}

/** crate::calendar::NewAccount (`POST /api/calendars` body for an ICS address or file) */
export interface CalendarAdd {
  source: string;
  name?: string;
  owner?: string[];
}

/** crate::calendar::NewAccount's CalDAV form (`POST /api/calendars` body for a CalDAV account). */
export interface CalDavAdd {
  kind: "caldav";
  /** An https URL on the server, or an email address (discovery). */
  server: string;
  user: string;
  /** An app-specific password; kept in the OS keyring. */
  password: string;
  name?: string;
}

/** crate::api::calendars::Update (`PATCH /api/calendars/{id}` body) */
export interface CalendarPatch {
  name?: string;
  enabled?: boolean;
}

/** crate::api::calendars::Include (`PATCH /api/calendars/{id}/calendars/{cid}` body) */
export interface CalendarEntryPatch {
  included: boolean;
}

/** crate::calendar::oauth::Provider (rename_all = "lowercase") */
export type SignInProvider = "google" | "microsoft";

/** crate::api::calendars::SignIn (`POST /api/calendars/signin` body) */
export interface SignInArg {
  provider: SignInProvider;
  name?: string;
}

/** crate::calendar::signin::Started (`POST /api/calendars/signin`): open `url`, then poll the flow. */
export interface SignInStart {
  flow: string;
  url: string;
}

/** crate::calendar::signin::FlowStatus (`GET /api/calendars/signin/{flow}`) */
export interface SignInStatus {
  state: "waiting" | "done" | "failed";
  account: CalendarAccount | null;
  error: string | null;
}

/** crate::calendar::TestReport (`POST /api/calendars/{id}/test`) */
export interface CalendarTest {
  ok: boolean;
  events: number;
  error: string | null;
  /** Time zones the feed names that could not be resolved. */
  unknown_zones?: string[];
  /** Events that could not be read, with why. */
  skipped?: string[];
}

/** crate::calendar::Busy (one block of `GET /api/calendars/busy?from&to`) */
export interface BusyBlock {
  calendar: number;
  summary: string;
  start: number;
  end: number;
}

/** crate::api::settings::Confirm (`DELETE /api/data` body) */
export interface DeleteAll {
  confirm: "delete all data";
}
