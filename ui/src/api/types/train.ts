// The admin API's JSON shapes for policy training (`[train]`: a LoRA adapter trained on a
// Tinker-compatible service, and served to agents).
// Each mirrors the Rust item it names, field for field (serde names); tests/ui/api-types.test.mjs
// checks them against the engine's real responses. Times are ms since the epoch; Option<T> is T | null.

/** What training is doing (TrainStatus.state). */
export type TrainState = "off" | "idle" | "waiting" | "training" | "paused";

/** crate::train::record::Run: one training run, the work done in one window (or one manual start) */
export interface Run {
  id: number;
  started_at: number;
  ended_at: number | null;
  /** "window" | "manual" */
  trigger: string;
  /** Why the window was open: asleep, away, meeting, manual … */
  window: string;
  base_model: string;
  /** The service's id of the LoRA model trained in this run. */
  model_id: string | null;
  /** The checkpoint the run started from. */
  resumed_from: string | null;
  /** running | done | paused | failed | interrupted */
  status: string;
  detail: string | null;
  steps: number;
  samples: number;
  mean_reward: number | null;
  cost_usd: number;
}

/** crate::train::record::Step: one optimiser step */
export interface Step {
  id: number;
  run_id: number;
  started_at: number;
  ended_at: number | null;
  /** pending | done | abandoned */
  status: string;
  batch_size: number;
  mean_reward: number | null;
  loss: number | null;
  tokens: number;
  cost_usd: number;
  duration_ms: number | null;
  /** Full state (weights and optimiser), to resume from. */
  state_path: string | null;
  /** Weights for sampling: what the policy upstream serves. */
  sampler_path: string | null;
  error: string | null;
}

/** crate::train::record::ServingChange: a change of the served adapter */
export interface ServingChange {
  id: number;
  at: number;
  /** The served model: a `tinker://…` sampler path, or the base model. */
  model: string;
  step_id: number | null;
  /** step | rollback | publish | start */
  reason: string;
}

/** crate::train::Today: today's use against the daily limits */
export interface TrainToday {
  steps: number;
  max_steps: number;
  spend_usd: number;
  max_spend_usd: number;
}

/** crate::train::Samples: turns trained on and skipped, with the most common skip reasons */
export interface TrainSamples {
  trained: number;
  skipped: number;
  /** (reason, turns), most common first */
  skip_reasons: [string, number][];
}

/** crate::train::Status (`GET /api/train`; also the reply of run-now, pause and resume) */
export interface TrainStatus {
  enabled: boolean;
  base_model: string | null;
  base_url: string;
  state: TrainState | string;
  /** One sentence on what training is doing or waiting for. */
  detail: string;
  paused: boolean;
  /** The adapter the policy upstream serves now. */
  serving: ServingChange | null;
  /** Client models the policy answers: `["*"]` for all; empty: train but serve nothing. */
  serve_models: string[];
  /** Turns ready to train on. */
  eligible: number;
  /** Judged turns of this generation another upstream answered (not trainable). */
  unsampled: number;
  min_batch: number;
  today: TrainToday;
  samples: TrainSamples;
  current_run: Run | null;
  last_run: Run | null;
}

/** crate::api::train::RunDetail (`GET /api/train/runs/{id}`): a run with its steps, oldest first */
export interface RunDetail {
  run: Run;
  steps: Step[];
}

/** crate::api::train::Rollback (`POST /api/train/rollback` body): serve this step's sampler weights */
export interface TrainRollbackArg {
  step_id: number;
}
