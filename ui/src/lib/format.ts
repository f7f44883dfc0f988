// Formatting helpers: times, durations, numbers.

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const tf = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const nf = new Intl.NumberFormat();

export function dateTime(ms: number | null | undefined): string {
  return ms ? dtf.format(new Date(ms)) : "—";
}

export function timeOnly(ms: number): string {
  return tf.format(new Date(ms));
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : nf.format(n);
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  if (v < 10_000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(1)} s`;
}

export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`;
}

/** "in 3 h", "5 min ago" */
export function relative(t: number | null | undefined, now = Date.now()): string {
  if (!t) return "—";
  const d = t - now;
  const a = Math.abs(d);
  const unit = a < 60_000 ? [Math.round(a / 1000), "s"] : a < 3_600_000 ? [Math.round(a / 60_000), "min"] : a < 86_400_000 ? [Math.round(a / 3_600_000), "h"] : [Math.round(a / 86_400_000), "d"];
  const txt = `${unit[0]} ${unit[1]}`;
  return d >= 0 ? `in ${txt}` : `${txt} ago`;
}

export function duration(secs: number): string {
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ${Math.floor((secs % 3600) / 60)} min`;
  return `${Math.floor(secs / 86400)} d ${Math.floor((secs % 86400) / 3600)} h`;
}

export function scoreLabel(s: number | null | undefined): string {
  if (s === null || s === undefined) return "unscored";
  return s > 0 ? "+1 good" : s < 0 ? "−1 failed" : "0 neutral";
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** "$0.42"; a non-zero amount under a cent keeps three decimals ("$0.004"). */
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v !== 0 && Math.abs(v) < 0.01 ? `$${v.toFixed(3)}` : `$${v.toFixed(2)}`;
}

/** "1 step", "2 steps": a count with its noun. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${num(n)} ${n === 1 ? noun : plural}`;
}
