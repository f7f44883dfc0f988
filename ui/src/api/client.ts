// The one client of the admin API: every request the UI makes goes through here.

import type {
  ArchiveList,
  CurateReport,
  PinArg,
  PinReply,
  SkillStatsDetail,
  SkillStatsList,
  ErrorBody,
  Feedback,
  ApproveArg,
  BusyBlock,
  CalendarAccount,
  CalendarAdd,
  CalendarEntryPatch,
  CalendarPatch,
  CalendarTest,
  Candidate,
  CandidateList,
  Config,
  ConfigReply,
  ConfigSaved,
  DecisionReply,
  EngineEvent,
  Explanation,
  FeedbackReply,
  GenerationDiff,
  GenerationList,
  GenerationReply,
  HostBridge,
  KeyInfo,
  LearningList,
  SchedulerStatus,
  PauseReply,
  Problem,
  RollbackReply,
  RunReport,
  ServingChange,
  SessionList,
  AgentList,
  SignInArg,
  SignInStart,
  SignInStatus,
  Simulation,
  SkillDetail,
  SkillList,
  SkillWrite,
  Status,
  TrainRollback,
  TrainRun,
  TrainRunDetail,
  TrainStatus,
  TrainStep,
  TrashList,
  TurnDetail,
  TurnFilter,
  TurnPage,
  ValidationList,
  Paging,
  SkillQuery,
  PathArg,
  ExplainArg,
  StatsQuery,
  CurateArg,
  CandidateStatus,
  AgentId,
  CandidateFilter,
  ApprovalScope,
  RejectArg,
  EvolveArg,
  LearningQuery,
  Split,
  DatasetQuery,
  TimeRange,
  TrainPage,
  ConfigWrite,
  KeyWrite,
  DeleteAll,
} from "./types";

declare global {
  interface Window {
    __METACLAW__?: HostBridge;
  }
}

/** Why a call failed, in a form views can branch on. */
export class ApiError extends Error {
  /** HTTP status; 0 when the engine could not be reached at all. */
  readonly status: number;
  /** The engine's error code, or `network`, `unsupported` (a route this engine lacks), `http`. */
  readonly code: string;
  readonly problems: Problem[];
  readonly path: string;

  constructor(status: number, code: string, message: string, path: string, problems: Problem[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.path = path;
    this.problems = problems;
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

const TOKEN_KEY = "metaclaw.token";

export interface Connection {
  base: string;
  token: string | null;
}

/**
 * Where the engine is and the admin token: the desktop shell's `window.__METACLAW__`, else
 * `#token=…` in the address (kept in sessionStorage, then removed from the URL), else a token kept
 * earlier in this tab.
 */
export function discoverConnection(): Connection {
  const host = window.__METACLAW__;
  const base = (host?.base ?? "").replace(/\/+$/, "");
  if (host?.token) return { base, token: host.token };
  const hash = location.hash.replace(/^#/, "");
  const params = new URLSearchParams(hash.includes("token=") ? hash : "");
  const fromHash = params.get("token");
  if (fromHash) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromHash);
    } catch {
      /* storage disabled: keep it in memory only */
    }
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : "#/"));
    return { base, token: fromHash };
  }
  let stored: string | null = null;
  try {
    stored = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    stored = null;
  }
  return { base, token: stored };
}

export function rememberToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore */
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

function qs(q?: Query): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

export class Client {
  base: string;
  token: string | null;
  /** Called when the engine refuses the token (401), so the app can ask for a new one. */
  onUnauthorized: ((e: ApiError) => void) | null = null;
  /** Called on every success or network failure, for the connection banner. */
  onReachability: ((reachable: boolean) => void) | null = null;

  constructor(conn: Connection) {
    this.base = conn.base;
    this.token = conn.token;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  private headers(json: boolean): Headers {
    const h = new Headers();
    if (this.token) h.set("authorization", `Bearer ${this.token}`);
    if (json) h.set("content-type", "application/json");
    return h;
  }

  /** One call; throws ApiError. `raw` returns the Response untouched (for downloads). */
  async request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const res = await this.send(method, path, body, opts.signal);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // The engine serves the UI's index.html for paths it doesn't know, /api ones included.
      if ((res.headers.get("content-type") ?? "").startsWith("text/html")) throw unsupported(res.status, path);
      throw new ApiError(res.status, "http", `the engine answered ${path} with something that is not JSON`, path);
    }
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      this.onReachability?.(false);
      throw new ApiError(0, "network", `Can't reach MetaClaw at ${this.base || location.origin}. Is \`metaclaw serve\` running?`, path);
    }
    const err = res.ok ? null : await toError(res, path);
    if (err?.code === "network") {
      this.onReachability?.(false);
      throw err;
    }
    this.onReachability?.(true);
    if (!err) return res;
    if (err.status === 401) this.onUnauthorized?.(err);
    throw err;
  }

  /** A download (JSON lines etc.) as a Blob. */
  async download(path: string): Promise<Blob> {
    const res = await this.send("GET", path);
    return res.blob();
  }

  // --- status, sessions, turns --------------------------------------------------------------
  status = (signal?: AbortSignal) => this.request<Status>("GET", "/api/status", undefined, { signal });
  sessions = (limit = 50, offset = 0) => this.request<SessionList>("GET", `/api/sessions${qs({ limit, offset } satisfies Paging)}`);
  turns = (f: TurnFilter, signal?: AbortSignal) =>
    this.request<TurnPage>("GET", `/api/turns${qs(f)}`, undefined, { signal });
  turn = (id: number) => this.request<TurnDetail>("GET", `/api/turns/${id}`);
  agents = () => this.request<AgentList>("GET", "/api/agents");
  feedback = (id: number, score: 1 | -1, note: string | null) =>
    this.request<FeedbackReply>("POST", `/api/turns/${id}/feedback`, { score, note } satisfies Feedback);

  // --- skills -------------------------------------------------------------------------------
  skills = (q: SkillQuery = {}, signal?: AbortSignal) =>
    this.request<SkillList>("GET", `/api/skills${qs(q)}`, undefined, { signal });
  skill = (name: string) => this.request<SkillDetail>("GET", `/api/skills/${enc(name)}`);
  createSkill = (w: SkillWrite) => this.request<GenerationReply>("POST", "/api/skills", w);
  updateSkill = (name: string, w: SkillWrite) => this.request<GenerationReply>("PUT", `/api/skills/${enc(name)}`, w);
  setSkillEnabled = (name: string, on: boolean) =>
    this.request<GenerationReply>("POST", `/api/skills/${enc(name)}/${on ? "enable" : "disable"}`);
  deleteSkill = (name: string) => this.request<GenerationReply>("DELETE", `/api/skills/${enc(name)}`);
  restoreSkill = (name: string) => this.request<GenerationReply>("POST", `/api/skills/${enc(name)}/restore`);
  trash = () => this.request<TrashList>("GET", "/api/skills-trash");
  validateFolder = (path: string) => this.request<ValidationList>("POST", "/api/skills/validate", { path } satisfies PathArg);
  explain = (query: string) => this.request<Explanation>("POST", "/api/skills/explain", { query } satisfies ExplainArg);
  /** Per-skill effectiveness (issue 17): uses, judged outcome with and without, the verdict. */
  skillStats = (agent?: string, signal?: AbortSignal) => this.request<SkillStatsList>("GET", `/api/skills-stats${qs({ agent } satisfies StatsQuery)}`, undefined, { signal });
  skillStatsOf = (name: string) => this.request<SkillStatsDetail>("GET", `/api/skills/${enc(name)}/stats`);
  /** The curator: `dryRun` says what it would do and why; otherwise it archives and proposes. */
  curate = (dryRun: boolean) => this.request<CurateReport>("POST", "/api/curate", { dry_run: dryRun } satisfies CurateArg);
  archive = () => this.request<ArchiveList>("GET", "/api/skills-archive");
  unarchive = (name: string) => this.request<GenerationReply>("POST", `/api/skills/${enc(name)}/unarchive`);
  pinSkill = (name: string, pinned: boolean) => this.request<PinReply>("POST", `/api/skills/${enc(name)}/pin`, { pinned } satisfies PinArg);

  // --- learning loop ------------------------------------------------------------------------
  candidates = (status?: CandidateStatus, agent?: AgentId) => this.request<CandidateList>("GET", `/api/candidates${qs({ status, agent } satisfies CandidateFilter)}`);
  candidate = (id: number) => this.request<Candidate>("GET", `/api/candidates/${id}`);
  approve = (id: number, content?: string, scope?: ApprovalScope) =>
    this.request<DecisionReply>("POST", `/api/candidates/${id}/approve`, { ...(content === undefined ? {} : { content }), ...(scope ? { scope } : {}) } satisfies ApproveArg);
  reject = (id: number, reason: string) => this.request<DecisionReply>("POST", `/api/candidates/${id}/reject`, { reason } satisfies RejectArg);
  defer = (id: number) => this.request<DecisionReply>("POST", `/api/candidates/${id}/defer`);
  evolve = (session?: string) => this.request<RunReport>("POST", "/api/evolve", (session ? { session } : {}) satisfies EvolveArg);
  generations = (limit = 100) => this.request<GenerationList>("GET", `/api/generations${qs({ limit })}`);
  diff = (a: number, b: number) => this.request<GenerationDiff>("GET", `/api/generations/${a}/diff/${b}`);
  rollback = (id: number) => this.request<RollbackReply>("POST", `/api/generations/${id}/rollback`);
  learning = (limit = 50, agent?: string) => this.request<LearningList>("GET", `/api/learning${qs({ limit, agent } satisfies LearningQuery)}`);
  pauseLearning = () => this.request<PauseReply>("POST", "/api/learning/pause");
  resumeLearning = () => this.request<PauseReply>("POST", "/api/learning/resume");
  datasetUrl = (split: Split) => `/api/dataset${qs({ split, limit: 100000 } satisfies DatasetQuery)}`;

  // --- scheduler and calendars --------------------------------------------------------------
  scheduler = () => this.request<SchedulerStatus>("GET", "/api/scheduler");
  simulate = (from: number, to: number) => this.request<Simulation>("GET", `/api/scheduler/simulate${qs({ from, to } satisfies TimeRange)}`);
  calendars = () => this.request<CalendarAccount[]>("GET", "/api/calendars");
  /** An ICS address or file, or a CalDAV account (listed, default calendars included, synced). */
  addCalendar = (a: CalendarAdd) => this.request<CalendarAccount>("POST", "/api/calendars", a);
  /** Whether one calendar of an account counts as busy; returns the account. */
  includeCalendar = (id: number, cid: number, included: boolean) =>
    this.request<CalendarAccount>("PATCH", `/api/calendars/${id}/calendars/${cid}`, { included } satisfies CalendarEntryPatch);
  /** Starts a Google or Microsoft sign-in: open `url`, then poll `signInStatus(flow)`. */
  signIn = (a: SignInArg) => this.request<SignInStart>("POST", "/api/calendars/signin", a);
  signInStatus = (flow: string, signal?: AbortSignal) =>
    this.request<SignInStatus>("GET", `/api/calendars/signin/${enc(flow)}`, undefined, { signal });
  cancelSignIn = (flow: string) => this.request<void>("DELETE", `/api/calendars/signin/${enc(flow)}`);
  patchCalendar = (id: number, p: CalendarPatch) => this.request<CalendarAccount>("PATCH", `/api/calendars/${id}`, p);
  removeCalendar = (id: number) => this.request<void>("DELETE", `/api/calendars/${id}`);
  testCalendar = (id: number) => this.request<CalendarTest>("POST", `/api/calendars/${id}/test`);
  busy = (from: number, to: number) => this.request<BusyBlock[]>("GET", `/api/calendars/busy${qs({ from, to } satisfies TimeRange)}`);

  // --- policy training ----------------------------------------------------------------------
  train = (signal?: AbortSignal) => this.request<TrainStatus>("GET", "/api/train", undefined, { signal });
  /** Newest first; page with `before` = the last id. */
  trainRuns = (limit = 20, before?: number) => this.request<TrainRun[]>("GET", `/api/train/runs${qs({ limit, before } satisfies TrainPage)}`);
  trainRun = (id: number) => this.request<TrainRunDetail>("GET", `/api/train/runs/${id}`);
  /** Steps with a saved state, newest first. */
  trainCheckpoints = (limit = 20) => this.request<TrainStep[]>("GET", `/api/train/checkpoints${qs({ limit })}`);
  trainServing = (limit = 10) => this.request<ServingChange[]>("GET", `/api/train/serving${qs({ limit })}`);
  trainNow = () => this.request<TrainStatus>("POST", "/api/train/run-now");
  pauseTraining = () => this.request<TrainStatus>("POST", "/api/train/pause");
  resumeTraining = () => this.request<TrainStatus>("POST", "/api/train/resume");
  /** Serve this step's sampler weights; returns the adapter now served. */
  trainRollback = (stepId: number) => this.request<ServingChange>("POST", "/api/train/rollback", { step_id: stepId } satisfies TrainRollback);

  // --- settings -----------------------------------------------------------------------------
  config = () => this.request<ConfigReply>("GET", "/api/config");
  saveConfig = (config: Config) => this.request<ConfigSaved>("PUT", "/api/config", { config } satisfies ConfigWrite);
  keys = () => this.request<KeyInfo[]>("GET", "/api/keys");
  setKey = (name: string, value: string) => this.request<void>("PUT", `/api/keys/${enc(name)}`, { value } satisfies KeyWrite);
  clearKey = (name: string) => this.request<void>("DELETE", `/api/keys/${enc(name)}`);
  deleteAllData = () => this.request<void>("DELETE", "/api/data", { confirm: "delete all data" } satisfies DeleteAll);

  /**
   * Server-sent events from `/api/events`, read with fetch (so the token travels in a header),
   * reconnecting with backoff until `signal` aborts. `onState` reports live / reconnecting.
   */
  async events(
    onEvent: (e: EngineEvent) => void,
    onState: (live: boolean) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let delay = 500;
    while (!signal.aborted) {
      try {
        const res = await fetch(this.url("/api/events"), {
          headers: { ...Object.fromEntries(this.headers(false)), accept: "text/event-stream" },
          signal,
          cache: "no-store",
        });
        if (res.status === 401) {
          onState(false);
          this.onUnauthorized?.(await toError(res, "/api/events"));
          return;
        }
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        onState(true);
        delay = 500;
        await readSse(res.body, (type, data) => {
          try {
            // The SSE event name stands in for a missing `type`. An event type a newer engine
            // added passes through: listeners ignore types they do not know.
            const parsed = JSON.parse(data) as { type?: string };
            onEvent({ ...parsed, type: parsed.type ?? type } as EngineEvent);
          } catch {
            /* keep-alive comments and non-JSON data are ignored */
          }
        });
      } catch (e) {
        if (signal.aborted) return;
        void e;
      }
      onState(false);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

async function toError(res: Response, path: string): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: Partial<ErrorBody> | null = null;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = null;
  }
  const e = body?.error;
  if (e && typeof e.message === "string") {
    return new ApiError(res.status, e.code ?? "http", e.message, path, e.problems ?? []);
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    // A gateway (dev server, reverse proxy) in front of an engine that is not running.
    return new ApiError(0, "network", `Can't reach MetaClaw behind ${location.origin} (HTTP ${res.status}). Is \`metaclaw serve\` running?`, path);
  }
  if (res.status === 404 || res.status === 405) return unsupported(res.status, path);
  return new ApiError(res.status, "http", `${path}: HTTP ${res.status}${text ? ` — ${text.slice(0, 200)}` : ""}`, path);
}

/** A route this engine lacks (an older MetaClaw). */
function unsupported(status: number, path: string): ApiError {
  const route = path.split("?")[0];
  return new ApiError(status, "unsupported", `This MetaClaw engine has no ${route} yet${status >= 400 ? ` (HTTP ${status})` : ""}. Update MetaClaw to use this feature.`, path);
}

/** Parses an SSE byte stream, calling `on(event, data)` per dispatched event. */
export async function readSse(body: ReadableStream<Uint8Array>, on: (event: string, data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let event = "message";
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === "\r" && buf[nl + 1] === "\n" ? 2 : 1));
      if (line === "") {
        if (data.length) on(event, data.join("\n"));
        event = "message";
        data = [];
      } else if (!line.startsWith(":")) {
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
