// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * A calendar account as the UI and CLI see it: never its secret address, password or token.
 */
export type CalendarAccount = {
  id: number,
  name: string,
  kind: CalendarKind,
  /**
   * The host of a URL, the path of a file, the CalDAV server's host, or the signed-in address.
   */
  display: string,
  /**
   * The user's addresses, whose declined invitations don't count as busy.
   */
  owner: Array<string>,
  enabled: boolean,
  last_sync: number | null,
  last_error: string | null,
  /**
   * Events (masters and overrides) in the cached feed, or in the included calendars.
   */
  events: number,
  /**
   * Environment variable that may hold a URL account's address (headless servers).
   */
  env_var: string | null,
  /**
   * What the user should know about the feed just added: time zones read in their own zone,
   * events or lines that were skipped. Only in the answer to `add`.
   */
  warnings?: Array<string>,
  /**
   * The CalDAV user name, or the signed-in address.
   */
  user: string | null,
  state: CalendarState,
  /**
   * The account's calendars (none for ICS addresses and files).
   */
  calendars: Array<CalendarEntry>,
};

/**
 * What kind of source an account reads.
 */
export type CalendarKind = "url" | "file" | "caldav" | "google" | "microsoft";

/**
 * How an account is doing.
 */
export type CalendarState = "ok" | "error" | "sign_in_again";

/**
 * One calendar of an account, and whether its events count as busy.
 */
export type CalendarEntry = {
  id: number,
  name: string,
  /**
   * `#rrggbb`.
   */
  color: string | null,
  /**
   * The user's own calendar (not subscribed, shared read-only or holidays).
   */
  own: boolean,
  included: boolean,
  /**
   * Events cached (CalDAV: events and overrides; providers: occurrences in the window).
   */
  events: number,
  last_error: string | null,
};

/**
 * A new account: an ICS address or file (`source`), or a CalDAV account (`kind: "caldav"`,
 * `server`, `user`, `password`). Google and Microsoft accounts come from a sign-in
 * ([`signin`]).
 */
export type CalendarAdd = {
  /**
   * `https://…`, `webcal://…`, a path to an `.ics` file, or `env` (the address is in
   * `METACLAW_CALENDAR_<NAME>_URL`).
   */
  source?: string,
  name?: string,
  owner?: Array<string>,
  kind?: CalendarKind,
  /**
   * CalDAV: the server's address (any URL on it) or the user's email address.
   */
  server?: string,
  user?: string,
  /**
   * CalDAV: an app-specific password; kept in the vault (OS keyring, else the secrets file).
   */
  password?: string,
};

/**
 * `PATCH /api/calendars/{id}`: rename, or switch the account on or off.
 */
export type CalendarPatch = { name?: string, enabled?: boolean };

/**
 * `PATCH /api/calendars/{id}/calendars/{cid}`: whether one calendar of an account counts as busy.
 */
export type CalendarEntryPatch = { included: boolean };

/**
 * The outcome of testing an account.
 */
export type CalendarTest = {
  ok: boolean,
  events: number,
  error: string | null,
  /**
   * Time zones the feed names that we could not resolve (read in the user's zone).
   */
  unknown_zones: Array<string>,
  /**
   * Events that could not be read, with why.
   */
  skipped: Array<string>,
  /**
   * CalDAV: how many calendar objects this sync fetched (only the changed ones).
   */
  fetched?: number,
};

/**
 * A busy block of one account.
 */
export type BusyBlock = { calendar: number, summary: string, start: number, end: number };

/**
 * Which sign-in service an account uses.
 */
export type SignInProvider = "google" | "microsoft";

/**
 * `POST /api/calendars/signin`: start a Google or Microsoft sign-in.
 */
export type SignInArg = { provider: SignInProvider, name?: string };

/**
 * A sign-in just started: its id and the URL to open.
 */
export type SignInStart = { flow: string, url: string };

/**
 * Where a sign-in stands.
 */
export type SignInState = "waiting" | "done" | "failed";

/**
 * Where a sign-in stands, as `GET /api/calendars/signin/{flow}` answers.
 */
export type SignInStatus = { state: SignInState, account: CalendarAccount | null, error: string | null };
