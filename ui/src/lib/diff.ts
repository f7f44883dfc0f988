// Line diff (LCS) and its rendering as an accessible table.

import { h } from "./dom";

export type Op = { kind: "same" | "add" | "del"; text: string; a?: number; b?: number };

/** The line diff of `a` → `b`. O(n·m) on lines; fine for skills (capped to keep it fast). */
export function diffLines(a: string, b: string): Op[] {
  const x = a.replace(/\r\n?/g, "\n").split("\n");
  const y = b.replace(/\r\n?/g, "\n").split("\n");
  // Trim the common head and tail first.
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const ops: Op[] = [];
  for (let i = 0; i < pre; i++) ops.push({ kind: "same", text: x[i], a: i + 1, b: i + 1 });
  const n = xs.length;
  const m = ys.length;
  if (n * m > 4_000_000) {
    xs.forEach((t, i) => ops.push({ kind: "del", text: t, a: pre + i + 1 }));
    ys.forEach((t, j) => ops.push({ kind: "add", text: t, b: pre + j + 1 }));
  } else {
    const L: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--) L[i][j] = xs[i] === ys[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && xs[i] === ys[j]) {
        ops.push({ kind: "same", text: xs[i], a: pre + i + 1, b: pre + j + 1 });
        i++;
        j++;
      } else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) {
        ops.push({ kind: "add", text: ys[j], b: pre + j + 1 });
        j++;
      } else {
        ops.push({ kind: "del", text: xs[i], a: pre + i + 1 });
        i++;
      }
    }
  }
  for (let k = 0; k < suf; k++) {
    const ai = x.length - suf + k;
    const bi = y.length - suf + k;
    ops.push({ kind: "same", text: x[ai], a: ai + 1, b: bi + 1 });
  }
  return ops;
}

/** A unified diff view; unchanged runs longer than 2·context are folded. */
export function renderDiff(before: string | null, after: string | null, label = "Changes", context = 3): HTMLElement {
  const ops = diffLines(before ?? "", after ?? "");
  const adds = ops.filter((o) => o.kind === "add").length;
  const dels = ops.filter((o) => o.kind === "del").length;
  const rows: HTMLElement[] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].kind !== "same") {
      rows.push(row(ops[k]));
      k++;
      continue;
    }
    let e = k;
    while (e < ops.length && ops[e].kind === "same") e++;
    const run = ops.slice(k, e);
    const head = k === 0 ? 0 : context;
    const tail = e === ops.length ? 0 : context;
    if (run.length > head + tail + 1) {
      run.slice(0, head).forEach((o) => rows.push(row(o)));
      rows.push(
        h("tr", { class: "diff-fold" }, h("td", { colspan: 3 }, `… ${run.length - head - tail} unchanged lines …`)),
      );
      run.slice(run.length - tail).forEach((o) => rows.push(row(o)));
    } else run.forEach((o) => rows.push(row(o)));
    k = e;
  }
  return h(
    "div",
    { class: "diff", role: "region", "aria-label": `${label}: ${adds} lines added, ${dels} removed`, tabindex: 0 },
    h("p", { class: "diff-summary" }, h("span", { class: "add" }, `+${adds}`), " ", h("span", { class: "del" }, `−${dels}`)),
    h(
      "table",
      null,
      h("caption", { class: "sr-only" }, label),
      h("thead", { class: "sr-only" }, h("tr", null, h("th", { scope: "col" }, "Old line"), h("th", { scope: "col" }, "New line"), h("th", { scope: "col" }, "Text"))),
      h("tbody", null, rows),
    ),
  );
}

function row(o: Op): HTMLElement {
  const sign = o.kind === "add" ? "+" : o.kind === "del" ? "−" : " ";
  const sr = o.kind === "add" ? "added: " : o.kind === "del" ? "removed: " : "";
  return h(
    "tr",
    { class: `diff-${o.kind}` },
    h("td", { class: "ln" }, o.a ?? ""),
    h("td", { class: "ln" }, o.b ?? ""),
    h("td", { class: "code" }, h("span", { class: "sr-only" }, sr), h("span", { "aria-hidden": "true", class: "sign" }, sign), o.text || " "),
  );
}
