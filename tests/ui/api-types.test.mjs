// The UI's API types against what the Rust engine really serialises: every route the client
// calls, on an engine with data in every table, is compared field by field (recursively) with
// the TypeScript interface the client expects. A field Rust sends that TS lacks, a required TS
// field Rust doesn't send, or a primitive of the wrong kind fails the test.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import ts from "typescript";
import { ROOT, api, correctedSession, say, startStack, waitFor } from "./harness.mjs";

// The generated types (from the Rust API types): the UI declares no admin API type of its own.
const TYPES = [path.join(ROOT, "ui/src/api/generated")];

/** Every interface and type alias of the UI's API types, by name. */
function loadTypes() {
  const decls = new Map();
  for (const file of TYPES.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".ts")).map((f) => path.join(d, f)))) {
    const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    sf.forEachChild((n) => {
      if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) decls.set(n.name.text, n);
    });
  }
  return decls;
}

const decls = loadTypes();

/** The members of an interface, with those it extends. */
function members(decl) {
  const out = new Map();
  for (const h of decl.heritageClauses ?? []) {
    for (const t of h.types) {
      const base = decls.get(t.expression.getText());
      if (base) for (const [k, v] of members(base)) out.set(k, v);
    }
  }
  let indexed = false;
  for (const m of decl.members) {
    if (ts.isPropertySignature(m)) out.set(m.name.getText().replace(/^["']|["']$/g, ""), { optional: !!m.questionToken, type: m.type });
    if (ts.isIndexSignatureDeclaration(m)) indexed = true;
  }
  out.indexed = indexed;
  return out;
}

/** Checks `value` against a TS type node; returns problems as "path: what". */
function check(value, node, where, problems, depth = 0) {
  if (!node || depth > 12) return;
  switch (node.kind) {
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
      return;
    case ts.SyntaxKind.StringKeyword:
      if (typeof value !== "string") problems.push(`${where}: expected a string, got ${JSON.stringify(value)}`);
      return;
    case ts.SyntaxKind.NumberKeyword:
      if (typeof value !== "number") problems.push(`${where}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case ts.SyntaxKind.BooleanKeyword:
      if (typeof value !== "boolean") problems.push(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    case ts.SyntaxKind.NullKeyword:
      if (value !== null) problems.push(`${where}: expected null`);
      return;
    case ts.SyntaxKind.LiteralType: {
      const lit = node.literal;
      if (lit.kind === ts.SyntaxKind.NullKeyword) return check(value, lit, where, problems, depth);
      const want = ts.isStringLiteral(lit) ? lit.text : Number(lit.getText());
      if (value !== want) problems.push(`${where}: expected ${JSON.stringify(want)}, got ${JSON.stringify(value)}`);
      return;
    }
    case ts.SyntaxKind.ParenthesizedType:
      return check(value, node.type, where, problems, depth);
    case ts.SyntaxKind.ArrayType:
      if (!Array.isArray(value)) return void problems.push(`${where}: expected an array, got ${JSON.stringify(value)?.slice(0, 80)}`);
      value.slice(0, 20).forEach((v, i) => check(v, node.elementType, `${where}[${i}]`, problems, depth + 1));
      return;
    case ts.SyntaxKind.TupleType:
      if (!Array.isArray(value)) problems.push(`${where}: expected a tuple`);
      return;
    case ts.SyntaxKind.UnionType: {
      // Accept the value if any member accepts it without problems.
      for (const t of node.types) {
        const p = [];
        check(value, t, where, p, depth + 1);
        if (p.length === 0) return;
      }
      const tried = node.types.map((t) => {
        const p = [];
        check(value, t, where, p, depth + 1);
        return p;
      });
      problems.push(...tried.sort((a, b) => a.length - b.length)[0]);
      return;
    }
    case ts.SyntaxKind.TypeLiteral:
      return checkObject(value, members(node), where, problems, depth);
    case ts.SyntaxKind.TypeReference: {
      const name = node.typeName.getText();
      if (name === "Record" || name === "Partial") return;
      if (name === "Array") return check(value, { kind: ts.SyntaxKind.ArrayType, elementType: node.typeArguments[0] }, where, problems, depth);
      const decl = decls.get(name);
      if (!decl) return; // a DOM or library type
      if (ts.isTypeAliasDeclaration(decl)) return check(value, decl.type, where, problems, depth + 1);
      return checkObject(value, members(decl), where, problems, depth);
    }
    default:
      return;
  }
}

function checkObject(value, props, where, problems, depth) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return void problems.push(`${where}: expected an object, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  for (const [k, p] of props) {
    if (!(k in value)) {
      if (!p.optional) problems.push(`${where}.${k}: the UI requires it, the engine does not send it`);
      continue;
    }
    if (value[k] === undefined) continue;
    check(value[k], p.type, `${where}.${k}`, problems, depth + 1);
  }
  if (!props.indexed) {
    for (const k of Object.keys(value)) {
      if (!props.has(k)) problems.push(`${where}.${k}: the engine sends it, the UI's type lacks it`);
    }
  }
}

function typeNode(text) {
  const sf = ts.createSourceFile("x.ts", `type X = ${text};`, ts.ScriptTarget.Latest, true);
  return sf.statements[0].type;
}

let stack;
let ids;

// [train] with training off but its optional keys set, so their values (not only null) are checked.
const TRAIN = ["[train]", 'serve_url = "http://127.0.0.1:9/oai/api/v1"', 'tokenizer_dir = "/nonexistent/tokenizer"', 'tokenizer_repo = "standin/tokenizer"', 'loss = "cispo"', "[train.distill]", 'teacher_url = "http://127.0.0.1:9/v1"', 'teacher_model = "standin/teacher"'];

before(async () => {
  stack = await startStack({ config: TRAIN });
  // Data everywhere: turns with scores, a candidate with a replay, a rollback, a calendar.
  const [a] = await correctedSession(stack, "types");
  await say(stack, "types-2", ["hello"]);
  const cand = await waitFor("a candidate with its replay", async () => {
    const c = (await api(stack, "GET", "/api/candidates?status=pending")).json.candidates[0];
    return c && c.replay ? c : null;
  });
  const approved = await api(stack, "POST", `/api/candidates/${cand.id}/approve`, {});
  assert.equal(approved.status, 200);
  await say(stack, "types-3", ["timestamps in the notes please"]);
  const ics = path.join(stack.dir, "cal.ics");
  const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
  writeFileSync(ics, `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:t@1\r\nDTSTART:${day}T100000Z\r\nDTEND:${day}T110000Z\r\nSUMMARY:Sync\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`);
  assert.equal((await api(stack, "POST", "/api/calendars", { source: ics, name: "Types" })).status, 201);
  const skill = (await api(stack, "GET", "/api/skills")).json.skills[0].name;
  assert.equal((await api(stack, "DELETE", `/api/skills/${skill}`)).status, 200);
  ids = { turn: a, candidate: cand.id, skill: "timestamp-offsets" };
});

after(async () => {
  await stack?.stop();
});

test("every response the UI reads matches its TypeScript type", async () => {
  const now = Date.now();
  const routes = [
    ["GET", "/api/status", "Status"],
    ["GET", "/api/sessions", "SessionList"],
    ["GET", "/api/turns?limit=10", "TurnPage"],
    ["GET", `/api/turns/${ids.turn}`, "TurnDetail"],
    ["GET", "/api/skills", "SkillList"],
    ["GET", `/api/skills/${ids.skill}`, "SkillDetail"],
    ["GET", "/api/skills-trash", "TrashList"],
    ["POST", "/api/skills/explain", "Explanation", { query: "timestamps in the notes" }],
    ["GET", "/api/candidates", "CandidateList"],
    ["GET", `/api/candidates/${ids.candidate}`, "Candidate"],
    ["GET", "/api/generations", "GenerationList"],
    ["GET", "/api/generations/1/diff/2", "GenerationDiff"],
    ["GET", "/api/learning", "LearningList"],
    ["GET", "/api/scheduler", "SchedulerStatus"],
    ["GET", `/api/scheduler/simulate?from=${now}&to=${now + 2 * 86_400_000}`, "Simulation"],
    ["GET", "/api/calendars", "CalendarAccount[]"],
    ["POST", "/api/calendars/1/test", "CalendarTest"],
    ["GET", `/api/calendars/busy?from=${now}&to=${now + 2 * 86_400_000}`, "BusyBlock[]"],
    ["GET", "/api/config", "ConfigReply"],
    ["GET", "/api/keys", "KeyInfo[]"],
    ["GET", "/api/train", "TrainStatus"],
    ["GET", "/api/train/runs?limit=5", "TrainRun[]"],
    ["GET", "/api/train/checkpoints?limit=5", "TrainStep[]"],
    ["GET", "/api/train/serving?limit=5", "ServingChange[]"],
    // Issue 17: effectiveness, the curator (a dry run), the archive, pins.
    ["GET", "/api/skills-stats", "SkillStatsList"],
    ["GET", `/api/skills/${ids.skill}/stats`, "SkillStatsDetail"],
    ["POST", "/api/curate", "CurateReport", { dry_run: true }],
    ["GET", "/api/skills-archive", "ArchiveList"],
    ["POST", `/api/skills/${ids.skill}/pin`, "PinReply", { pinned: false }],
  ];
  // A run's detail, when the engine has a run to show (not with training off, as here).
  const runs = (await api(stack, "GET", "/api/train/runs?limit=1")).json;
  if (Array.isArray(runs) && runs.length) routes.push(["GET", `/api/train/runs/${runs[0].id}`, "TrainRunDetail"]);
  const problems = [];
  for (const [method, route, type, body] of routes) {
    const r = await api(stack, method, route, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    const node = typeNode(type);
    if (node.kind === ts.SyntaxKind.TypeReference) assert.ok(decls.has(node.typeName.getText()), `no type ${type} in ui/src/api/generated`);
    check(r.json, node, `${method} ${route.split("?")[0]} (${type})`, problems);
  }
  assert.deepEqual(problems, [], `the UI's types and the engine disagree:\n${problems.join("\n")}`);
});

test("the [train] section of GET /api/config matches TrainConfig, unset options as null", async () => {
  const problems = [];
  const set = (await api(stack, "GET", "/api/config")).json.config.train;
  assert.equal(set.tokenizer_repo, "standin/tokenizer");
  assert.equal(set.distill?.coef, 1, "coef defaults to 1");
  check(set, typeNode("TrainConfig"), "config.train (set)", problems);
  // A config without [train]: the defaults, with every Option as null (not absent).
  const defaults = { ...set, serve_url: null, tokenizer_dir: null, tokenizer_repo: null, distill: null, base_model: null };
  const put = await api(stack, "PUT", "/api/config", { config: { ...(await api(stack, "GET", "/api/config")).json.config, train: defaults } });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const unset = (await api(stack, "GET", "/api/config")).json.config.train;
  for (const k of ["base_model", "serve_url", "tokenizer_dir", "tokenizer_repo", "distill"]) assert.ok(k in unset && unset[k] === null, `${k} is null`);
  check(unset, typeNode("TrainConfig"), "config.train (unset)", problems);
  assert.deepEqual(problems, [], `the UI's types and the engine disagree:\n${problems.join("\n")}`);
});

test("training's actions and errors match their types (training is off in the harness)", async () => {
  const problems = [];
  const expect = async (method, route, status, type, body) => {
    const r = await api(stack, method, route, body);
    assert.equal(r.status, status, `${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    check(r.json, typeNode(type), `${method} ${route} (${type})`, problems);
    return r.json;
  };
  const st = await expect("GET", "/api/train", 200, "TrainStatus");
  assert.equal(st.enabled, false, "the harness's engine has training off");
  // The controls refuse while training is off, with the usual error body.
  for (const action of ["run-now", "pause", "resume"]) await expect("POST", `/api/train/${action}`, 409, "ErrorBody");
  await expect("POST", "/api/train/rollback", 409, "ErrorBody", { step_id: 1 });
  await expect("GET", "/api/train/runs/999999", 404, "ErrorBody");
  assert.deepEqual(problems, [], `the UI's types and the engine disagree:\n${problems.join("\n")}`);
});

test("the checker itself catches a missing, an extra and a mistyped field", () => {
  const problems = [];
  check({ id: "7", extra: 1 }, typeNode("{ id: number; name: string; note?: string }"), "x", problems);
  assert.deepEqual(problems.sort(), [
    "x.extra: the engine sends it, the UI's type lacks it",
    'x.id: expected a number, got "7"',
    "x.name: the UI requires it, the engine does not send it",
  ]);
});
