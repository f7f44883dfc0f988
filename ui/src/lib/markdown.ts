// A small, safe Markdown renderer for SKILL.md bodies. It builds DOM nodes directly and never
// parses HTML: raw HTML in the source shows as text. Links are kept only for http(s) and mailto.
//
// Supported: YAML front matter (split off), ATX headings, paragraphs, fenced code, block quotes,
// ordered and unordered lists (nested by indentation), horizontal rules, tables (pipe), and inline
// code, **strong**, *emphasis*, ~~strike~~ and [links](https://…).

import { h } from "./dom";

export interface FrontMatter {
  raw: string;
  /** Top-level `key: value` pairs, and `metadata:` children as `metadata.key`. */
  fields: Record<string, string>;
}

/** Splits `---\n…\n---` front matter from the body. */
export function splitFrontMatter(text: string): { front: FrontMatter | null; body: string; bodyLine: number } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { front: null, body: text, bodyLine: 1 };
  const fields: Record<string, string> = {};
  let parent = "";
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^(\s*)([A-Za-z0-9_.-]+):\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, indent, key, value] = kv;
    const v = unquote(value.trim());
    if (!indent) {
      parent = v === "" ? key : "";
      if (v !== "") fields[key] = v;
    } else if (parent) {
      fields[`${parent}.${key}`] = v;
    }
  }
  const bodyLine = m[0].split("\n").length;
  return { front: { raw: m[1], fields }, body: text.slice(m[0].length), bodyLine };
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\"/g, '"');
  return v;
}

export function renderMarkdown(src: string): HTMLElement {
  const root = h("div", { class: "md" });
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  blocks(lines, root);
  return root;
}

function blocks(lines: string[], out: HTMLElement): void {
  let i = 0;
  const para: string[] = [];
  const flush = () => {
    if (para.length) {
      out.appendChild(h("p", null, inline(para.join(" "))));
      para.length = 0;
    }
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```+|~~~+)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) code.push(lines[i++]);
      i++;
      const c = h("code", fence[2] ? { "data-lang": fence[2] } : null, code.join("\n"));
      out.appendChild(h("pre", { tabindex: 0 }, c));
      continue;
    }
    if (/^\s*$/.test(line)) {
      flush();
      i++;
      continue;
    }
    const head = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (head) {
      flush();
      // Skill headings sit under the page's own h2/h3, so shift them down two levels.
      const level = Math.min(6, head[1].length + 2) as 3 | 4 | 5 | 6;
      out.appendChild(h(`h${level}` as "h3", null, inline(head[2])));
      i++;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      out.appendChild(h("hr"));
      i++;
      continue;
    }
    if (/^\s{0,3}>/.test(line)) {
      flush();
      const q: string[] = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) q.push(lines[i++].replace(/^\s{0,3}>\s?/, ""));
      const bq = h("blockquote");
      blocks(q, bq);
      out.appendChild(bq);
      continue;
    }
    if (LIST.test(line)) {
      flush();
      i = list(lines, i, out);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(lines[i + 1])) {
      flush();
      const cells = (l: string) => l.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
      const head = cells(line);
      i += 2;
      const body: string[][] = [];
      while (i < lines.length && lines[i].includes("|") && lines[i].trim() !== "") body.push(cells(lines[i++]));
      out.appendChild(
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            null,
            h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, inline(c))))),
            h("tbody", null, body.map((r) => h("tr", null, r.map((c) => h("td", null, inline(c)))))),
          ),
        ),
      );
      continue;
    }
    para.push(line.trim());
    i++;
  }
  flush();
}

const LIST = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;

function list(lines: string[], start: number, out: HTMLElement): number {
  const first = LIST.exec(lines[start])!;
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const el = ordered ? h("ol", Number.parseInt(first[2], 10) !== 1 ? { start: Number.parseInt(first[2], 10) } : null) : h("ul");
  let i = start;
  let item: HTMLLIElement | null = null;
  let text: string[] = [];
  const finish = () => {
    if (item) {
      item.insertBefore(h("span", null, inline(text.join(" "))), item.firstChild);
      text = [];
    }
  };
  while (i < lines.length) {
    const line = lines[i];
    const m = LIST.exec(line);
    if (m && m[1].length === indent && /\d/.test(m[2]) === ordered) {
      finish();
      item = h("li");
      el.appendChild(item);
      text = [m[3]];
      i++;
    } else if (m && m[1].length > indent && item) {
      i = list(lines, i, item);
    } else if (item && line.trim() !== "" && /^\s+/.test(line) && !m) {
      text.push(line.trim());
      i++;
    } else if (item && line.trim() !== "" && !m && !/^\s*(#|```|>)/.test(line) && i > start && lines[i - 1].trim() !== "") {
      text.push(line.trim()); // lazy continuation
      i++;
    } else {
      break;
    }
  }
  finish();
  out.appendChild(el);
  return i;
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

/** Inline spans, built as DOM nodes. */
export function inline(text: string): Node[] {
  const out: Node[] = [];
  let buf = "";
  const push = () => {
    if (buf) out.push(document.createTextNode(buf));
    buf = "";
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if (rest[0] === "\\" && rest.length > 1 && /[\\`*_{}[\]()#+\-.!~|>]/.test(rest[1])) {
      buf += rest[1];
      i += 2;
    } else if ((m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest))) {
      push();
      out.push(h("code", null, m[2].trim()));
      i += m[0].length;
    } else if ((m = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest))) {
      push();
      out.push(h("strong", null, inline(m[2])));
      i += m[0].length;
    } else if ((m = /^~~(?=\S)([\s\S]*?\S)~~/.exec(rest))) {
      push();
      out.push(h("del", null, inline(m[1])));
      i += m[0].length;
    } else if ((m = /^(\*|_)(?=\S)([\s\S]*?\S)\1(?![*_\w])/.exec(rest)) && (m[1] === "*" || !/\w/.test(text[i - 1] ?? ""))) {
      push();
      out.push(h("em", null, inline(m[2])));
      i += m[0].length;
    } else if ((m = /^\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/.exec(rest))) {
      push();
      const url = m[2];
      if (SAFE_URL.test(url)) out.push(h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, inline(m[1])));
      else out.push(h("span", { class: "link-unsafe", title: url }, inline(m[1])));
      i += m[0].length;
    } else if ((m = /^<?(https?:\/\/[^\s<>)]+)>?/.exec(rest)) && (i === 0 || /\s|\(/.test(text[i - 1]))) {
      push();
      out.push(h("a", { href: m[1], rel: "noopener noreferrer", target: "_blank" }, m[1]));
      i += m[0].length;
    } else {
      buf += rest[0];
      i += 1;
    }
  }
  push();
  return out;
}
