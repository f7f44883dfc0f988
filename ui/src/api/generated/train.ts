// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * Training as the status shows it.
 */
export type TrainStatus = {
  enabled: boolean,
  base_model: string | null,
  base_url: string,
  state: TrainState,
  /**
   * What training is doing or waiting for, in a sentence.
   */
  detail: string,
  paused: boolean,
  serving: ServingChange | null,
  serve_models: Array<string>,
  eligible: number,
  /**
   * Judged turns of this generation another upstream answered (not trainable).
   */
  unsampled: number,
  min_batch: number,
  today: TrainToday,
  samples: TrainSamples,
  current_run: TrainRun | null,
  last_run: TrainRun | null,
};

/**
 * What training is doing.
 */
export type TrainState = "off" | "idle" | "waiting" | "training" | "paused";

/**
 * Today's use against the daily limits.
 */
export type TrainToday = { steps: number, max_steps: number, spend_usd: number, max_spend_usd: number };

/**
 * Turns trained on and skipped.
 */
export type TrainSamples = {
  trained: number,
  skipped: number,
  /**
   * (reason, turns), the most common first.
   */
  skip_reasons: Array<[string, number]>,
};

/**
 * One training run: the work done in one window (or one manual start).
 */
export type TrainRun = {
  id: number,
  started_at: number,
  ended_at: number | null,
  trigger: RunTrigger,
  /**
   * Why the window was open (asleep, away, meeting, …).
   */
  window: string,
  base_model: string,
  /**
   * The service's id of the LoRA model trained in this run.
   */
  model_id: string | null,
  /**
   * The checkpoint the run started from.
   */
  resumed_from: string | null,
  status: TrainRunStatus,
  detail: string | null,
  steps: number,
  samples: number,
  mean_reward: number | null,
  cost_usd: number,
};

/**
 * Where a run is.
 */
export type TrainRunStatus = "running" | "done" | "paused" | "failed" | "interrupted";

/**
 * How a run started.
 */
export type RunTrigger = "window" | "manual";

/**
 * One optimiser step.
 */
export type TrainStep = {
  id: number,
  run_id: number,
  started_at: number,
  ended_at: number | null,
  status: TrainStepStatus,
  batch_size: number,
  mean_reward: number | null,
  loss: number | null,
  tokens: number,
  cost_usd: number,
  duration_ms: number | null,
  /**
   * Full state (weights and optimiser), to resume from.
   */
  state_path: string | null,
  /**
   * Weights for sampling: what the policy upstream serves.
   */
  sampler_path: string | null,
  error: string | null,
};

/**
 * Where a step is.
 */
export type TrainStepStatus = "pending" | "done" | "abandoned";

/**
 * A change of the served adapter.
 */
export type ServingChange = { id: number, at: number, model: string, step_id: number | null, reason: ServingReason };

/**
 * Why the served adapter changed.
 */
export type ServingReason = "step" | "rollback" | "publish" | "start";

/**
 * `GET /api/train/runs/{id}`: a run with its steps, oldest first.
 */
export type TrainRunDetail = { run: TrainRun, steps: Array<TrainStep> };

/**
 * The query of `GET /api/train/runs`, `/checkpoints` and `/serving`: at most `limit` (default
 * 50, 1 to 500), newest first; runs also page with `before` (a run id).
 */
export type TrainPage = { limit?: number, before?: number };

/**
 * `POST /api/train/rollback`: serve this step's sampler weights; training continues from it.
 */
export type TrainRollback = { step_id: number };

/**
 * A checkpoint the service holds.
 */
export type RemoteCheckpoint = { checkpoint_id: string, checkpoint_type: string, tinker_path: string, time: string | null };
