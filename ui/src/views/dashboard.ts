// Dashboard: where to point agents, live turns, MetaClaw's own overhead, the learning signal per
// generation, and the scheduler.

import type { App, View } from "../app";
import type { EvolverStatus, GenerationSignal, JudgeStatus, Reason, SchedulerState, SchedulerStatus, Status, TurnSummary } from "../api/types";
import { copyText, h, replace, s } from "../lib/dom";
import { dateTime, duration, ms, num, pct, relative, timeOnly, WEEKDAYS } from "../lib/format";
import { empty, errorMessage, failure, load, loading, scoreBadge, tabs, toast } from "../lib/ui";
import { liveChecklist } from "./setup/checklist";

export function dashboardView(app: App): View {
  const statsEl = h("div", { class: "stats", "aria-live": "off" }, loading("Loading status"));
  const endpointEl = h("section", { class: "card", "aria-labelledby": "ep-h" }, h("h2", { id: "ep-h" }, "Point your agent at MetaClaw"), loading());
  const liveEl = h("div", null, loading("Loading turns"));
  const chartEl = h("div", null, loading("Loading the learning signal"));
  const schedEl = h("div", null, loading("Loading the scheduler"));
  const pauseSlot = h("div", { class: "row" });
  const healthEl = h("div", { id: "learning-health" });
  // The setup checklist with live ticks, until all four are ticked.
  const checklistEl = h("div");
  const gettingStarted = h("section", { class: "card", "aria-labelledby": "gs-h", id: "setup-checklist-card", hidden: true }, h("div", { class: "card-head" }, h("h2", { id: "gs-h" }, "Getting started"), h("a", { href: "#/setup" }, "Open the setup guide")), checklistEl);

  const el = h(
    "div",
    { class: "view view-dashboard" },
    h("div", { class: "view-head" }, h("h1", null, "Dashboard"), pauseSlot),
    statsEl,
    healthEl,
    gettingStarted,
    endpointEl,
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "live-h" }, h("div", { class: "card-head" }, h("h2", { id: "live-h" }, "Live turns"), h("a", { href: "#/turns" }, "All turns")), liveEl),
      h("section", { class: "card", "aria-labelledby": "sig-h" }, h("h2", { id: "sig-h" }, "Learning signal per generation"), chartEl),
    ),
    h("section", { class: "card", "aria-labelledby": "sched-h" }, h("h2", { id: "sched-h" }, "Scheduler"), schedEl),
  );

  let endpointDrawn = false;
  const renderStatus = (st: Status) => {
    replace(
      statsEl,
      stat("Turns today", num(st.turns_today), `${num(st.turns_total)} in all`),
      stat("Active sessions", num(st.sessions_active), `${num(st.sessions_total)} in all`),
      stat("Overhead p50", ms(st.overhead.p50_ms), `${num(st.overhead.samples)} recent turns`, "overhead-p50"),
      stat("Overhead p99", ms(st.overhead.p99_ms), `max ${ms(st.overhead.max_ms)}`, "overhead-p99"),
      stat("Generation", `#${st.generation}`, h("a", { href: "#/history" }, "History")),
      stat("To review", num(st.candidates_pending), h("a", { href: "#/review" }, st.candidates_pending ? "Review now" : "Review")),
      st.judge ? judgeStat(st.judge) : stat("Judge", "off", h("a", { href: "#/settings" }, "Set a judge model")),
      st.evolver ? evolverStat(st.evolver) : null,
    );
    drawLearningHealth(st);
    if (!endpointDrawn) {
      endpointDrawn = true;
      replace(endpointEl, h("h2", { id: "ep-h" }, "Point your agent at MetaClaw"), endpoint(st));
    }
    drawPause(st);
  };

  // The judge and the evolver say so when they can't work with their model (never a silent 0).
  const drawLearningHealth = (st: Status) => {
    const j = st.judge;
    const run = st.evolver?.last_run;
    const items: HTMLElement[] = [];
    if (st.learning_paused) items.push(h("p", null, "Learning is paused: no judging, evolution or training until you resume it."));
    if (j?.problem) {
      items.push(
        h(
          "div",
          { id: "judge-problem" },
          h("p", null, h("strong", null, "Judge: "), j.problem, "."),
          j.last_error ? h("p", null, "Last failure: ", j.last_error) : null,
          j.last_answer ? h("details", null, h("summary", null, "The judge's last answer"), h("pre", { class: "wrap" }, j.last_answer)) : null,
        ),
      );
    }
    if (run && ["malformed", "timed out", "failed"].includes(run.status)) {
      items.push(h("p", { id: "evolver-problem" }, h("strong", null, "Evolver: "), `the last run ${run.status === "failed" ? "failed" : run.status === "timed out" ? "timed out" : "answered with something that is not the JSON asked for"}`, run.reason ? ` (${run.reason})` : "", `. ${num(st.evolver?.failures_waiting ?? 0)} failed turns wait for the next run.`));
    }
    replace(healthEl, items.length ? h("div", { class: "notice", role: "status" }, ...items) : null);
  };

  const drawPause = (st: Status) => {
    if (st.learning_paused === undefined) {
      replace(pauseSlot);
      return;
    }
    const paused = st.learning_paused;
    const b = h(
      "button",
      { type: "button", class: paused ? "btn btn-primary" : "btn", id: "pause-learning", "aria-pressed": String(paused) },
      paused ? "Resume learning" : "Pause learning",
    ) as HTMLButtonElement;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        if (paused) await app.api.resumeLearning();
        else await app.api.pauseLearning();
        toast(paused ? "Learning resumed" : "Learning paused");
        await app.refreshStatus();
        if (app.status) renderStatus(app.status);
      } catch (e) {
        toast(errorMessage(e), "error");
        b.disabled = false;
      }
    });
    replace(pauseSlot, paused ? h("span", { class: "badge badge-warn" }, "Learning is paused") : null, b);
  };

  const loadStatus = async () => {
    try {
      const st = await app.api.status();
      app.status = st;
      renderStatus(st);
    } catch (e) {
      replace(statsEl, failure(e, () => void loadStatus()));
      if (!endpointDrawn) replace(endpointEl, h("h2", { id: "ep-h" }, "Point your agent at MetaClaw"), failure(e));
    }
  };

  let lastTurnIds = "";
  const loadTurns = async (quiet = false) => {
    if (!quiet) replace(liveEl, loading("Loading turns"));
    try {
      const page = await app.api.turns({ limit: 8 });
      const ids = page.turns.map((t) => `${t.id}:${t.score}`).join(",");
      if (quiet && ids === lastTurnIds) return;
      lastTurnIds = ids;
      replace(liveEl, liveTurns(page.turns));
    } catch (e) {
      replace(liveEl, failure(e, () => void loadTurns()));
    }
  };

  const loadChart = () => load(chartEl, () => app.api.learning(30), (d) => signalChart(d.generations), "Loading the learning signal");
  const loadSched = () => load(schedEl, () => app.api.scheduler(), scheduler, "Loading the scheduler");

  void loadStatus();
  void loadTurns();
  void loadChart();
  void loadSched();

  const stopChecklist = liveChecklist(app, checklistEl, (items) => (gettingStarted.hidden = items.every((i) => i.done_at !== null)));
  const off = app.on((e) => {
    if (e.type === "turn_recorded" || e.type === "turn_scored") void loadTurns(true);
    if (e.type !== "scheduler_changed") void loadStatus();
    if (e.type === "generation_changed" || e.type === "turn_scored") void loadChart();
    if (e.type === "scheduler_changed" || e.type === "job_stopped" || e.type === "calendars_changed") void load(schedEl, () => app.api.scheduler(), scheduler);
  });
  // Older engines send no event per turn: poll quietly too, while the view is open.
  const t1 = setInterval(() => void loadTurns(true), 5000);
  const t2 = setInterval(() => void loadStatus(), 5000);
  const t3 = setInterval(() => void load(schedEl, () => app.api.scheduler(), scheduler), 60_000);

  return {
    el,
    destroy() {
      stopChecklist();
      off();
      clearInterval(t1);
      clearInterval(t2);
      clearInterval(t3);
    },
  };
}

/** Scored / unparseable / timed out / waiting / given up. */
function judgeStat(j: JudgeStatus): HTMLElement {
  const parts = [`${num(j.scored)} scored`];
  if (j.unparseable !== undefined) parts.push(`${num(j.unparseable)} unparseable`, `${num(j.timed_out ?? 0)} timed out`);
  parts.push(`${num(j.failed)} given up`);
  return stat("Judge queue", num(j.pending), parts.join(", "), "judge-stat");
}

function evolverStat(e: EvolverStatus): HTMLElement {
  const run = e.last_run;
  return stat("Evolver", run ? run.status : "no run yet", run ? `${num(e.runs)} runs, ${num(e.failed_runs)} failed; ${num(e.failures_waiting)} failures waiting` : `${num(e.failures_waiting)} failures waiting`, "evolver-stat");
}

function stat(label: string, value: string, sub?: string | Node, id?: string): HTMLElement {
  return h("div", { class: "stat", id: id ?? null }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), sub ? h("div", { class: "stat-sub" }, sub) : null);
}

function copyButton(text: string, what: string): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "btn btn-small",
      "aria-label": `Copy ${what}`,
      onclick: async () => {
        const ok = await copyText(text);
        toast(ok ? `Copied ${what}` : "Copy failed: select the text and copy it by hand", ok ? "ok" : "error");
      },
    },
    "Copy",
  );
}

function endpoint(st: Status): HTMLElement {
  const origin = st.address.replace(/\/+$/, "");
  const openai = `${origin}/v1`;
  const snippets: Record<string, string> = {
    env: `# OpenAI-compatible agents\nexport OPENAI_BASE_URL=${openai}\nexport OPENAI_API_KEY=unused   # MetaClaw holds the real key\n\n# Anthropic SDKs, NanoClaw\nexport ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_API_KEY=unused`,
    openai: `from openai import OpenAI\nclient = OpenAI(base_url="${openai}", api_key="unused")  # MetaClaw holds the real key\nprint(client.chat.completions.create(model="gpt-4o-mini",\n    messages=[{"role": "user", "content": "hello"}]).choices[0].message.content)`,
    anthropic: `import anthropic\nclient = anthropic.Anthropic(base_url="${origin}", api_key="unused")\nprint(client.messages.create(model="claude-sonnet-4-5", max_tokens=512,\n    messages=[{"role": "user", "content": "hello"}]).content[0].text)`,
    openclaw: `openclaw config set models.providers.metaclaw --json '{"api":"openai-completions","baseUrl":"${openai}","apiKey":"unused",\n  "models":[{"id":"gpt-4o-mini","name":"gpt-4o-mini","reasoning":false,"input":["text"],"contextWindow":128000,"maxTokens":8192}]}'\nopenclaw config set agents.defaults.model.primary metaclaw/gpt-4o-mini`,
    curl: `curl ${openai}/chat/completions -H 'content-type: application/json' \\\n  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}'`,
  };
  const labels: Record<string, string> = { env: "Environment", openai: "OpenAI SDK", anthropic: "Anthropic SDK", openclaw: "OpenClaw", curl: "curl" };
  const t = tabs(
    "Set-up snippets",
    Object.keys(snippets).map((id) => ({ id, label: labels[id] })),
    "env",
    (id, panel) => replace(panel, h("div", { class: "snippet" }, h("pre", null, h("code", null, snippets[id])), copyButton(snippets[id], `${labels[id]} snippet`))),
  );
  const ups = st.upstreams.map((u) => `${u.name} (${u.kind}) → ${u.base_url}${u.key === "none" && u.auth === "key" ? " · no key" : ""}`);
  return h(
    "div",
    { class: "endpoint" },
    h(
      "dl",
      { class: "kv endpoints" },
      h("dt", null, "OpenAI base URL"),
      h("dd", null, h("code", { id: "openai-base" }, openai), copyButton(openai, "OpenAI base URL")),
      h("dt", null, "Anthropic base URL"),
      h("dd", null, h("code", { id: "anthropic-base" }, origin), copyButton(origin, "Anthropic base URL")),
      h("dt", null, "Upstreams"),
      h("dd", null, ups.length ? ups.join("; ") : "none"),
    ),
    h("p", { class: "hint" }, "Give your agent any API key (it is ignored and never forwarded); the real key stays with MetaClaw."),
    t.list,
    t.panel,
  );
}

function liveTurns(turns: TurnSummary[]): HTMLElement {
  if (!turns.length) return empty("No turns yet", "Send a request through the proxy and it shows up here within a second.");
  return h(
    "ol",
    { class: "live-turns", "aria-label": "Latest turns, newest first" },
    turns.map((t) =>
      h(
        "li",
        null,
        h(
          "a",
          { href: `#/turns/${t.id}`, class: "live-turn" },
          h("span", { class: "muted mono" }, `#${t.id}`),
          h("span", { class: "muted" }, timeOnly(t.started_at)),
          h("span", { class: `status status-${t.status}` }, t.status),
          h("span", { class: "ellipsis" }, t.preview || t.model || "(no text)"),
          scoreBadge(t.score),
          h("span", { class: "muted" }, ms(t.overhead_ms)),
        ),
      ),
    ),
  );
}

/** Mean score and failure rate per generation, oldest left; inline SVG with a data table for
 * screen readers. */
export function signalChart(gens: GenerationSignal[]): HTMLElement {
  const data = gens.slice().reverse();
  if (!data.length) return empty("No generations yet");
  if (!data.some((g) => g.scored > 0))
    return h("div", null, empty("No scored turns yet", "Set a judge model in Settings; each main turn then gets a score, and this chart shows how each generation of skills did."), signalTable(data));
  const W = 560;
  const H = 200;
  const pad = { l: 36, r: 12, t: 12, b: 28 };
  const n = data.length;
  const x = (i: number) => pad.l + (n === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (n - 1));
  const yScore = (v: number) => pad.t + ((1 - v) / 2) * (H - pad.t - pad.b); // -1..1
  const yRate = (v: number) => pad.t + (1 - v) * (H - pad.t - pad.b); // 0..1
  const line = (pts: [number, number][]) => pts.map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ");
  const scorePts = data.map((g, i) => (g.mean_score === null ? null : ([x(i), yScore(g.mean_score)] as [number, number]))).filter(Boolean) as [number, number][];
  const ratePts = data.map((g, i) => (g.failure_rate === null ? null : ([x(i), yRate(g.failure_rate)] as [number, number]))).filter(Boolean) as [number, number][];
  const grid = [-1, 0, 1].map((v) => s("g", null, s("line", { x1: pad.l, x2: W - pad.r, y1: yScore(v), y2: yScore(v), class: "grid" }), s("text", { x: pad.l - 6, y: yScore(v) + 4, "text-anchor": "end", class: "axis" }, v > 0 ? "+1" : String(v))));
  const step = Math.max(1, Math.ceil(n / 10));
  const xlabels = data.map((g, i) => (i % step === 0 || i === n - 1 ? s("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "axis" }, `#${g.generation}`) : null));
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `Mean score and failure rate for the last ${n} generations; the table below has the numbers.` },
    grid,
    xlabels,
    s("path", { d: line(ratePts), class: "series-rate" }),
    s("path", { d: line(scorePts), class: "series-score" }),
    scorePts.map((p, i) => s("circle", { cx: p[0], cy: p[1], r: 3.5, class: "dot-score" }, s("title", null, `mean score ${data[i]?.mean_score?.toFixed(2)}`))),
    ratePts.map((p) => s("rect", { x: p[0] - 3, y: p[1] - 3, width: 6, height: 6, class: "dot-rate" })),
  );
  return h(
    "figure",
    { class: "chart-fig" },
    svg,
    h("figcaption", { class: "legend" }, h("span", { class: "key key-score" }, "Mean score (−1…+1)"), h("span", { class: "key key-rate" }, "Failure rate (0…100%)")),
    h("details", null, h("summary", null, "Numbers"), signalTable(data)),
  );
}

function signalTable(data: GenerationSignal[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("thead", null, h("tr", null, ["Generation", "Turns", "Scored", "Mean score", "Failure rate", "Why"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        data
          .slice()
          .reverse()
          .map((g) => h("tr", null, h("td", null, `#${g.generation}`), h("td", null, num(g.turns)), h("td", null, num(g.scored)), h("td", null, g.mean_score === null ? "—" : g.mean_score.toFixed(2)), h("td", null, pct(g.failure_rate)), h("td", { class: "ellipsis" }, g.reason))),
      ),
    ),
  );
}

const REASONS: Record<Reason, string> = { asleep: "Asleep", away: "Away", active: "Active", too_short: "Too short", meeting: "In a meeting", present: "At the keyboard", on_battery: "On battery", paused: "Paused" };
const STATES: Record<SchedulerState, string> = { waiting: "Waiting", open: "Window open", running: "Running", pausing: "Pausing", paused: "Paused" };

export function scheduler(o: SchedulerStatus): HTMLElement {
  const d = o.decision;
  const sig = o.signals;
  const stateKind = o.state === "running" || o.state === "open" ? "ok" : o.state === "paused" || o.state === "pausing" ? "warn" : "muted";
  return h(
    "div",
    { class: "scheduler" },
    h(
      "div",
      { class: "sched-state" },
      h("span", { class: `badge badge-${stateKind}`, id: "sched-state" }, STATES[o.state] ?? o.state),
      h("span", { class: "badge" }, REASONS[d.reason] ?? d.reason),
      o.job ? h("span", { class: "badge badge-info" }, `running ${o.job}`) : null,
      h("p", { class: "sched-expl" }, d.explanation),
    ),
    h(
      "dl",
      { class: "kv" },
      d.open ? [h("dt", null, "Until"), h("dd", null, d.until ? `${dateTime(d.until)} (${relative(d.until)})` : "open-ended")] : [h("dt", null, "Next window"), h("dd", null, d.next ? `${dateTime(d.next)} (${relative(d.next)})` : "not predicted yet")],
      h("dt", null, "Idle"),
      h("dd", null, `${duration(sig.idle_secs)} (from ${sig.idle_source === "requests" ? "the last proxied request" : sig.idle_source})`),
      sig.on_battery ? [h("dt", null, "Power"), h("dd", null, "on battery")] : null,
      sig.locked ? [h("dt", null, "Screen"), h("dd", null, "locked")] : null,
      h("dt", null, "Time zone"),
      h("dd", null, o.timezone || "system"),
    ),
    o.jobs?.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data jobs" },
            h("caption", { class: "sr-only" }, "Learning jobs"),
            h("thead", null, h("tr", null, ["Job", "Needs", "Waiting", "Last run"].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              null,
              o.jobs.map((j) =>
                h(
                  "tr",
                  null,
                  h("td", null, j.name),
                  h("td", null, duration(j.estimate_secs)),
                  h("td", null, j.pending ? "yes" : "no"),
                  h("td", null, j.last_run ? `${dateTime(j.last_run.started_at)}${j.last_run.outcome ? ` — ${j.last_run.outcome}` : " — running"}${j.last_run.detail ? ` (${j.last_run.detail})` : ""}` : "never"),
                ),
              ),
            ),
          ),
        )
      : null,
    heatmap(o.activity.rate, o.activity.weeks),
    h("p", null, h("a", { href: "#/calendars" }, "Calendars and the coming week")),
  );
}

/** The learned weekly activity profile: 7 rows × 24 hours, as a table (accessible) coloured by rate. */
export function heatmap(rate: number[], weeks: number): HTMLElement {
  const nowIdx = ((new Date().getDay() + 6) % 7) * 24 + new Date().getHours();
  return h(
    "div",
    { class: "heatmap-wrap" },
    h("h3", null, "Weekly activity"),
    h("p", { class: "hint" }, `How often you were active in each hour, over the last ${weeks} week${weeks === 1 ? "" : "s"} (darker is more). Times are in the scheduler's time zone.`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "heatmap", id: "heatmap" },
        h("caption", { class: "sr-only" }, "Share of weeks with activity, per weekday and hour"),
        h("thead", null, h("tr", null, h("td"), Array.from({ length: 24 }, (_, hr) => h("th", { scope: "col", class: "hm-hour" }, hr % 3 === 0 ? String(hr).padStart(2, "0") : h("span", { class: "sr-only" }, String(hr)))))),
        h(
          "tbody",
          null,
          WEEKDAYS.map((day, d) =>
            h(
              "tr",
              null,
              h("th", { scope: "row" }, day),
              Array.from({ length: 24 }, (_, hr) => {
                const v = rate[d * 24 + hr] ?? 0;
                const cell = h("td", { class: d * 24 + hr === nowIdx ? "hm-cell hm-now" : "hm-cell", title: `${day} ${String(hr).padStart(2, "0")}:00 — ${Math.round(v * 100)}%` }, h("span", { class: "sr-only" }, `${Math.round(v * 100)}%`));
                cell.style.setProperty("--v", String(Math.max(0, Math.min(1, v))));
                return cell;
              }),
            ),
          ),
        ),
      ),
    ),
  );
}
