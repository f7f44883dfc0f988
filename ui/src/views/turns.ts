// Turns: browse and filter (session, type, status, model, score) with cursor paging; a turn's
// detail shows the messages, injected skills, the judge's score and reasons, and takes feedback.

import type { App, View } from "../app";
import type { JsonValue as Json, TurnDetail, TurnFilter, TurnStatus, TurnSummary, TurnType } from "../api/types";
import { debounce, field, h, replace } from "../lib/dom";
import { dateTime, ms, num, scoreLabel } from "../lib/format";
import { badge, empty, errorMessage, failure, load, loading, scoreBadge, toast } from "../lib/ui";

const PAGE = 50;

export function turnsView(app: App, params: string[]): View {
  const el = h("div", { class: "view view-turns" });
  let listState: ReturnType<typeof listView> | null = null;

  const show = (p: string[]) => {
    if (p[0] && /^\d+$/.test(p[0])) {
      replace(el, detailView(app, Number(p[0])));
    } else {
      listState ??= listView(app);
      replace(el, listState.el);
      listState.refresh();
    }
  };
  show(params);
  return { el, update: show, destroy: () => listState?.destroy() };
}

function listView(app: App): { el: HTMLElement; refresh: () => void; destroy: () => void } {
  const f = { session: "", agent: "", type: "", status: "", model: "", score: "" };
  // Cursor stack: cursors[i] is the `before` of page i (undefined for the newest page).
  let cursors: (number | undefined)[] = [undefined];
  let page = 0;
  let next: number | null = null;
  let ctl: AbortController | null = null;

  const session = h("input", { id: "f-session", autocomplete: "off", placeholder: "any" }) as HTMLInputElement;
  const type = h("select", { id: "f-type" }, h("option", { value: "" }, "Any"), h("option", { value: "main" }, "main"), h("option", { value: "side" }, "side")) as HTMLSelectElement;
  const status = h("select", { id: "f-status" }, ["", "ok", "upstream_error", "failed", "cancelled"].map((s) => h("option", { value: s }, s || "Any"))) as HTMLSelectElement;
  const agent = h("select", { id: "f-agent" }, h("option", { value: "" }, "Any")) as HTMLSelectElement;
  // Filled from the agents MetaClaw has seen; the list stays usable if this fails.
  void app.api.agents().then(
    (r) => agent.append(...r.agents.map((a) => h("option", { value: a.agent }, `${a.agent} (${a.turns})`))),
    () => undefined,
  );
  const model = h("input", { id: "f-model", autocomplete: "off", placeholder: "any" }) as HTMLInputElement;
  const score = h("select", { id: "f-score" }, h("option", { value: "" }, "Any"), h("option", { value: "1" }, "+1 good"), h("option", { value: "0" }, "0 neutral"), h("option", { value: "-1" }, "−1 failed"), h("option", { value: "none" }, "Unscored")) as HTMLSelectElement;
  const table = h("div", { class: "table-pane" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const info = h("p", { class: "muted", role: "status" });

  const el = h(
    "div",
    null,
    h("div", { class: "view-head" }, h("h1", null, "Turns")),
    h("form", { class: "filters", role: "search", "aria-label": "Filter turns", onsubmit: (e: Event) => e.preventDefault() }, field("Session", session), field("Agent", agent), field("Type", type), field("Status", status), field("Model", model), field("Score", score)),
    info,
    table,
    pager,
  );

  const reset = () => {
    cursors = [undefined];
    page = 0;
    void fetchPage();
  };
  const onText = debounce(reset, 300);
  for (const [c, k] of [
    [session, "session"],
    [model, "model"],
  ] as const)
    c.addEventListener("input", () => {
      f[k] = c.value.trim();
      onText();
    });
  for (const [c, k] of [
    [agent, "agent"],
    [type, "type"],
    [status, "status"],
    [score, "score"],
  ] as const)
    c.addEventListener("change", () => {
      f[k] = c.value;
      reset();
    });

  /** One page of turns. The score filter has no server-side parameter, so pages are read until
   * 50 matching turns are found (at most 10 reads of 200). */
  async function fetchRows(signal: AbortSignal): Promise<{ rows: TurnSummary[]; next: number | null }> {
    const base: TurnFilter = { session: f.session || undefined, agent: f.agent || undefined, type: (f.type || undefined) as TurnType | undefined, status: (f.status || undefined) as TurnStatus | undefined, model: f.model || undefined };
    if (!f.score) {
      const p = await app.api.turns({ ...base, before: cursors[page], limit: PAGE }, signal);
      return { rows: p.turns, next: p.next_before };
    }
    const want = f.score === "none" ? null : Number(f.score);
    const rows: TurnSummary[] = [];
    let before = cursors[page];
    for (let i = 0; i < 10 && rows.length < PAGE; i++) {
      const p = await app.api.turns({ ...base, before, limit: 200 }, signal);
      for (const t of p.turns) {
        if (t.score === want && rows.length < PAGE) rows.push(t);
        if (rows.length === PAGE) {
          return { rows, next: t.id };
        }
      }
      if (p.next_before === null) return { rows, next: null };
      before = p.next_before;
    }
    return { rows, next: before ?? null };
  }

  async function fetchPage(): Promise<void> {
    ctl?.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    replace(table, loading("Loading turns"));
    table.setAttribute("aria-busy", "true");
    try {
      const r = await fetchRows(signal);
      next = r.next;
      replace(table, r.rows.length ? renderTable(r.rows) : empty(page === 0 ? (Object.values(f).some(Boolean) ? "No turns match these filters" : "No turns recorded yet") : "No more turns", page === 0 && !Object.values(f).some(Boolean) ? "Point your agent at the proxy (see the Dashboard) and its turns appear here." : undefined));
      info.textContent = r.rows.length ? `Page ${page + 1}: turns #${r.rows[0].id} to #${r.rows[r.rows.length - 1].id}` : "";
      renderPager();
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      replace(table, failure(e, () => void fetchPage()));
      replace(pager);
    } finally {
      table.removeAttribute("aria-busy");
    }
  }

  function renderPager(): void {
    replace(
      pager,
      h("button", { type: "button", class: "btn", id: "page-newer", disabled: page === 0, onclick: () => { page -= 1; void fetchPage(); } }, "← Newer"),
      h("span", { class: "muted" }, `Page ${page + 1}`),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          id: "page-older",
          disabled: next === null,
          onclick: () => {
            cursors[page + 1] = next ?? undefined;
            page += 1;
            void fetchPage();
          },
        },
        "Older →",
      ),
    );
  }

  function renderTable(rows: TurnSummary[]): HTMLElement {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data turns-table" },
        h("caption", { class: "sr-only" }, "Turns, newest first"),
        h("thead", null, h("tr", null, ["Turn", "Started", "Session", "Agent", "Type", "Model", "Status", "Score", "Skills", "Overhead", "Answer"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          null,
          rows.map((t) =>
            h(
              "tr",
              null,
              h("td", null, h("a", { href: `#/turns/${t.id}` }, `#${t.id}`)),
              h("td", { class: "nowrap" }, dateTime(t.started_at)),
              h("td", { class: "mono ellipsis", title: t.session_id }, h("button", { type: "button", class: "linkish", title: "Only this session", onclick: () => { session.value = t.session_id; f.session = t.session_id; reset(); } }, t.session_id.slice(0, 12))),
              h("td", { class: "agent" }, t.agent),
              h("td", null, t.turn_type),
              h("td", { class: "ellipsis" }, t.model ?? "—"),
              h("td", null, h("span", { class: `status status-${t.status}` }, t.status)),
              h("td", null, scoreBadge(t.score)),
              h("td", null, num(t.skills?.length ?? 0)),
              h("td", { class: "nowrap" }, ms(t.overhead_ms)),
              h("td", { class: "ellipsis preview" }, t.preview || (t.tool_names.length ? `tools: ${t.tool_names.join(", ")}` : "")),
            ),
          ),
        ),
      ),
    );
  }

  const off = app.on((e) => {
    if (e.type === "turn_scored" && page === 0) void fetchPage();
  });
  return {
    el,
    refresh: () => void fetchPage(),
    destroy: () => {
      off();
      ctl?.abort();
    },
  };
}

function detailView(app: App, id: number): HTMLElement {
  const body = h("div");
  const el = h("div", null, h("p", null, h("a", { href: "#/turns" }, "← All turns")), h("h1", null, `Turn #${id}`), body);
  const reload = () => load(body, () => app.api.turn(id), (t) => renderTurn(app, t, reload), "Loading the turn");
  void reload();
  return el;
}

function renderTurn(app: App, t: TurnDetail, reload: () => void): HTMLElement {
  return h(
    "div",
    { class: "turn-detail" },
    h(
      "dl",
      { class: "kv grid-kv" },
      h("dt", null, "Session"),
      h("dd", { class: "mono" }, t.session_id, ` (turn ${t.turn_index})`),
      h("dt", null, "Type"),
      h("dd", null, t.turn_type),
      h("dt", null, "Model"),
      h("dd", null, t.model ?? "—", ` via ${t.upstream} (${t.protocol}${t.stream ? ", streamed" : ""})`),
      h("dt", null, "Status"),
      h("dd", null, h("span", { class: `status status-${t.status}` }, t.status), t.http_status ? ` HTTP ${t.http_status}` : "", t.attempts > 1 ? ` after ${t.attempts} attempts` : ""),
      h("dt", null, "Started"),
      h("dd", null, dateTime(t.started_at)),
      h("dt", null, "Latency"),
      h("dd", null, `${ms(t.latency_ms)} total, ${ms(t.upstream_ms)} upstream, ${ms(t.overhead_ms)} MetaClaw`),
      h("dt", null, "Tokens"),
      h("dd", null, `${num(t.prompt_tokens)} in, ${num(t.completion_tokens)} out`),
      h("dt", null, "Generation"),
      h("dd", null, h("a", { href: "#/history" }, `#${t.generation}`)),
    ),
    judgementBlock(app, t, reload),
    h(
      "section",
      { class: "card", "aria-labelledby": "inj-h" },
      h("h2", { id: "inj-h" }, "Injected skills"),
      t.skills?.length
        ? h(
            "ul",
            { class: "plain-list" },
            t.skills.map((s) => h("li", null, h("a", { href: `#/skills/${encodeURIComponent(s.name)}` }, s.name), h("span", { class: "muted" }, ` score ${s.score.toFixed(2)}${s.similarity != null ? `, similarity ${s.similarity.toFixed(2)}` : ""}`), s.terms.length ? h("span", { class: "muted small" }, ` — matched: ${s.terms.join(", ")}`) : null)),
          )
        : t.inject_off
          ? h("p", { class: "muted", id: "inject-off" }, "Skills not injected: the client asked (X-MetaClaw-Inject: off).")
          : h("p", { class: "muted" }, t.turn_type === "main" ? "No skill was relevant enough for this turn." : "Side turns get no skills."),
    ),
    h("section", { class: "card", "aria-labelledby": "msg-h" }, h("h2", { id: "msg-h" }, `Messages sent upstream (${t.messages.length})`), h("ol", { class: "messages" }, t.messages.map(message))),
    h(
      "section",
      { class: "card", "aria-labelledby": "ans-h" },
      h("h2", { id: "ans-h" }, "Answer"),
      t.reasoning_text ? h("details", null, h("summary", null, "Reasoning"), h("pre", { class: "wrap" }, t.reasoning_text)) : null,
      t.response_text ? h("pre", { class: "wrap answer" }, t.response_text) : h("p", { class: "muted" }, "(no text)"),
      t.tool_calls.length ? h("ul", { class: "plain-list" }, t.tool_calls.map((c) => h("li", null, h("strong", null, c.name), h("pre", { class: "wrap" }, c.arguments)))) : null,
      t.error ? h("div", { class: "state state-error" }, h("p", { class: "error-text" }, t.error), t.error_body ? h("pre", { class: "wrap" }, t.error_body) : null) : null,
    ),
    Object.keys((t.params as object) ?? {}).length ? h("details", { class: "card" }, h("summary", null, "Request parameters"), h("pre", { class: "wrap" }, JSON.stringify(t.params, null, 2))) : null,
  );
}

function judgementBlock(app: App, t: TurnDetail, reload: () => void): HTMLElement {
  const j = t.judgement;
  const note = h("textarea", { id: "fb-note", rows: 2, maxlength: 4000, placeholder: "Optional: what was wrong or right" }) as HTMLTextAreaElement;
  const send = async (score: 1 | -1, btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      await app.api.feedback(t.id, score, note.value.trim() || null);
      toast(`Feedback saved: ${score > 0 ? "+1" : "−1"} for turn #${t.id}`);
      reload();
    } catch (e) {
      toast(errorMessage(e), "error");
      btn.disabled = false;
    }
  };
  const up = h("button", { type: "button", class: "btn", id: "fb-good" }, "👍 Good (+1)") as HTMLButtonElement;
  const down = h("button", { type: "button", class: "btn", id: "fb-bad" }, "👎 Failed (−1)") as HTMLButtonElement;
  up.addEventListener("click", () => void send(1, up));
  down.addEventListener("click", () => void send(-1, down));
  return h(
    "section",
    { class: "card", "aria-labelledby": "judge-h" },
    h("h2", { id: "judge-h" }, "Score"),
    j
      ? h(
          "div",
          { id: "judgement" },
          h("p", null, scoreBadge(j.score), " ", scoreLabel(j.score), " ", badge(j.source === "user" ? "your feedback" : "judge", j.source === "user" ? "info" : "muted"), h("span", { class: "muted" }, ` ${dateTime(j.created_at)}`)),
          // Your verdict replaces the judge's: its reason and votes are not shown beside yours.
          j.reason && j.source !== "user" ? h("p", null, h("span", { class: "muted" }, "Reason: "), j.reason) : null,
          j.note ? h("p", null, h("span", { class: "muted" }, j.source === "user" ? "Your note: " : "Note: "), j.note) : null,
          j.source === "user" ? null : votes(j.votes),
        )
      : h("p", { class: "muted", id: "judgement" }, t.turn_type === "main" ? "Not scored yet (the judge waits for the user's next message, no judge is configured, or the judge could not score it: the Dashboard says why)." : "Side turns are not judged."),
    h("div", { class: "feedback" }, h("h3", null, "Your verdict (overrides the judge)"), field("Note", note), h("div", { class: "actions" }, up, down)),
  );
}

function votes(v: Json | null): HTMLElement | null {
  if (!Array.isArray(v) || !v.length) return null;
  return h(
    "details",
    null,
    h("summary", null, `${v.length} judge vote${v.length === 1 ? "" : "s"}`),
    h(
      "ol",
      null,
      v.map((x) => {
        if (x && typeof x === "object" && !Array.isArray(x)) {
          const o = x as Record<string, Json>;
          return h("li", null, o.score !== undefined ? `${String(o.score)}: ` : "", String(o.reason ?? o.text ?? JSON.stringify(o)));
        }
        return h("li", null, String(x));
      }),
    ),
  );
}

function message(m: Json): HTMLElement {
  const o = (m && typeof m === "object" && !Array.isArray(m) ? m : {}) as Record<string, Json>;
  const role = String(o.role ?? "?");
  const content = o.content;
  let text: string;
  if (typeof content === "string") text = content;
  else if (Array.isArray(content)) text = content.map((p) => (p && typeof p === "object" && !Array.isArray(p) ? String((p as Record<string, Json>).text ?? `[${String((p as Record<string, Json>).type ?? "part")}]`) : String(p))).join("\n");
  else text = content === undefined || content === null ? "" : JSON.stringify(content, null, 2);
  const extra = o.tool_calls ? JSON.stringify(o.tool_calls, null, 2) : null;
  return h("li", { class: `msg msg-${role}` }, h("div", { class: "msg-role" }, role), h("pre", { class: "wrap" }, text || "(empty)"), extra ? h("pre", { class: "wrap muted" }, extra) : null);
}

