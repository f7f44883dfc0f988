//! One training run: open the service from the last checkpoint, then step while there is data,
//! the window is open and the day's limits allow. Each step is forward-backward, optimiser step,
//! save state (the step is now durable and its turns trained), save for sampling and serve.
//! Pausing is checked before every remote call; a step cut short is redone, from the same
//! checkpoint and with the same turns, in a later run, so no turn is lost or trained twice.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::backend::{AdamParams, BackendError, Trainer};
use super::data::{self, Sample};
use super::record::{self, RunStatus, StepResult};
use super::Training;
use crate::events::Event;
use crate::scheduler::runner::Outcome;
use crate::store::StoreError;

/// Why a run stopped early.
enum Stop {
    Paused,
    Failed(String),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Failed(format!("database: {e}"))
    }
}

impl From<BackendError> for Stop {
    fn from(e: BackendError) -> Self {
        Stop::Failed(e.to_string())
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Awaits `f` unless the run is cancelled first.
async fn unless<T>(cancel: &CancellationToken, f: impl std::future::Future<Output = T>) -> Result<T, Stop> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Stop::Paused),
        v = f => Ok(v),
    }
}

impl Training {
    /// Runs after [`Training::claim`] succeeded; releases the claim when done.
    pub(crate) async fn run_claimed(
        self: Arc<Self>,
        trigger: &str,
        window: &str,
        cancel: CancellationToken,
    ) -> Outcome {
        let outcome = self.run_inner(trigger, window, &cancel).await;
        self.note_outcome(matches!(outcome, Outcome::Failed(_)));
        self.release();
        outcome
    }

    async fn run_inner(&self, trigger: &str, window: &str, cancel: &CancellationToken) -> Outcome {
        let tokens = match self.tokens().await {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("no tokenizer: {e}");
                self.set_note(msg.clone());
                return Outcome::Failed(msg);
            }
        };
        let base = self.base_model().to_string();
        let head = match self.store.read(move |c| record::head(c, &base)).await {
            Ok(h) => h,
            Err(e) => {
                self.set_note(format!("the last run failed: {e}"));
                return Outcome::Failed(e.to_string());
            }
        };
        let base = self.base_model().to_string();
        let (trig, win, from) =
            (trigger.to_string(), window.to_string(), head.as_ref().and_then(|h| h.state_path.clone()));
        let run = match self.store.write(move |c| record::start_run(c, &trig, &win, &base, from.as_deref())).await {
            Ok(r) => r,
            Err(e) => {
                self.set_note(format!("the last run failed: {e}"));
                return Outcome::Failed(e.to_string());
            }
        };
        if let Some(a) = self.active.lock().expect("active").as_mut() {
            a.0 = run;
        }
        self.changed();
        let result = self.steps(run, head, &tokens, cancel).await;
        let (status, detail) = match &result {
            Ok(d) => (RunStatus::Done, d.clone()),
            Err(Stop::Paused) => (
                RunStatus::Paused,
                "stopped because you came back; the unfinished step is redone in the next window".to_string(),
            ),
            Err(Stop::Failed(e)) => (RunStatus::Failed, e.clone()),
        };
        let (s, d) = (status.as_str(), detail.clone());
        if let Err(e) = self.store.write(move |c| record::end_run(c, run, s, &d)).await {
            tracing::error!(error = %e, "could not record the end of a training run");
        }
        if status == RunStatus::Failed {
            self.set_note(format!("the last run failed: {detail}"));
        }
        self.events.publish(Event::TrainRunEnded { run_id: run, status, detail: detail.clone() });
        tracing::info!(run, status = status.as_str(), detail, "training run ended");
        match result {
            Ok(d) => Outcome::Done(d),
            Err(Stop::Paused) => Outcome::Paused(detail),
            Err(Stop::Failed(e)) => Outcome::Failed(e),
        }
    }

    async fn steps(
        &self,
        run: i64,
        head: Option<record::Step>,
        tokens: &super::tokens::Tokens,
        cancel: &CancellationToken,
    ) -> Result<String, Stop> {
        if let Some(why) = self.over_limit().await? {
            self.set_note(why.clone());
            return Ok(why);
        }
        let from = head.as_ref().and_then(|h| h.state_path.clone());
        let trainer =
            unless(cancel, self.backend.open(self.base_model(), self.cfg.lora_rank, from.as_deref())).await??;
        let model_id = trainer.model_id().to_string();
        self.store.write(move |c| record::set_run_model(c, run, &model_id)).await?;
        // Weights trained earlier but never published (a save that failed) are served first.
        if let Some(h) = head.as_ref().filter(|h| h.sampler_path.is_none()) {
            self.publish(trainer.as_ref(), h.id, "publish", cancel).await?;
        }
        let mut done = 0;
        loop {
            if cancel.is_cancelled() {
                return Err(Stop::Paused);
            }
            if let Some(why) = self.over_limit().await? {
                return Ok(format!("{}; {why}", plural(done, "step")));
            }
            let Some((step, batch)) = self.next_batch(run, tokens, trainer.as_ref(), cancel).await? else {
                let msg = if done == 0 {
                    "no batch ready".to_string()
                } else {
                    format!("{}; the data is used up", plural(done, "step"))
                };
                self.set_note("");
                return Ok(msg);
            };
            self.set_note("");
            self.step(trainer.as_ref(), step, &batch, cancel).await?;
            done += 1;
            self.changed();
        }
    }

    /// The day's limits, if reached.
    async fn over_limit(&self) -> Result<Option<String>, Stop> {
        let since = crate::clock::now_ms() - 86_400_000;
        let (steps, spend) = self.store.read(move |c| record::usage_since(c, since)).await?;
        if steps >= i64::from(self.cfg.max_steps_per_day) {
            return Ok(Some(format!("the daily limit of {} steps is reached", self.cfg.max_steps_per_day)));
        }
        if spend >= self.cfg.max_spend_per_day_usd {
            return Ok(Some(format!("the daily spend limit of ${:.2} is reached", self.cfg.max_spend_per_day_usd)));
        }
        Ok(None)
    }

    /// The step to do next: an unfinished one (same turns), or a new batch of eligible turns.
    async fn next_batch(
        &self,
        run: i64,
        tokens: &super::tokens::Tokens,
        trainer: &dyn Trainer,
        cancel: &CancellationToken,
    ) -> Result<Option<(i64, Vec<Sample>)>, Stop> {
        if let Some((old, turns)) = self.store.read(record::pending_step).await? {
            let cands = self.store.read(move |c| data::candidates(c, &turns)).await?;
            let (samples, mut skipped) = data::tokenize(tokens, cands);
            let (mut samples, failed) = self.fill_logprobs(trainer, samples, cancel).await?;
            skipped.extend(failed);
            if samples.is_empty() || !skipped.is_empty() {
                // The batch can't be rebuilt as it was: its turns go back to the pool.
                let why = format!("{} of its turns can't be rebuilt now; they are batched again", skipped.len());
                self.store.write(move |c| record::drop_step(c, old, &why)).await?;
            } else {
                data::assign_advantages(&mut samples);
                self.distill(tokens, &mut samples).await;
                let step = self.store.write(move |c| record::redo_step(c, old, run)).await?;
                return Ok(Some((step, samples)));
            }
        }
        let max = self.cfg.max_batch;
        let cands = self.store.read(move |c| data::eligible(c, max * 2)).await?;
        let (mut samples, mut skipped) = data::tokenize(tokens, cands);
        samples.truncate(max as usize);
        let (mut samples, failed) = self.fill_logprobs(trainer, samples, cancel).await?;
        skipped.extend(failed);
        if samples.len() < self.cfg.min_batch as usize {
            if !skipped.is_empty() {
                self.store.write(move |c| record::skip(c, &skipped)).await?;
            }
            return Ok(None);
        }
        data::assign_advantages(&mut samples);
        self.distill(tokens, &mut samples).await;
        let batch = samples.clone();
        let step = self.store.write(move |c| record::begin_step(c, run, &batch, &skipped)).await?;
        Ok(Some((step, samples)))
    }

    /// Logprobs for samples the endpoint reported none for, computed by the service under the
    /// adapter that served them. A service that is down stops the run (the turns wait); a sample
    /// the service can't score is skipped with the reason.
    async fn fill_logprobs(
        &self,
        trainer: &dyn Trainer,
        samples: Vec<Sample>,
        cancel: &CancellationToken,
    ) -> Result<(Vec<Sample>, Vec<(i64, String)>), Stop> {
        let (mut ok, mut skipped) = (Vec::new(), Vec::new());
        for mut s in samples {
            let Some(model) = s.needs_logprobs.take() else {
                ok.push(s);
                continue;
            };
            let all: Vec<u32> = s.prompt.iter().chain(&s.response).copied().collect();
            match unless(cancel, trainer.logprobs(&model, &all)).await? {
                Ok(lps) => match lps[s.prompt.len()..].iter().copied().collect::<Option<Vec<f32>>>() {
                    Some(resp) => {
                        s.logprobs = resp;
                        ok.push(s);
                    }
                    None => skipped.push((s.turn_id, "the service gave no logprob for some answer tokens".into())),
                },
                Err(e) if e.transient() => return Err(Stop::Failed(e.to_string())),
                Err(e) => skipped.push((s.turn_id, format!("computing the answer's logprobs: {e}"))),
            }
        }
        Ok((ok, skipped))
    }

    async fn distill(&self, tokens: &super::tokens::Tokens, samples: &mut [Sample]) {
        if let Some(d) = &self.cfg.distill {
            super::distill::apply(&self.http, d, tokens, samples).await;
        }
    }

    async fn step(
        &self,
        trainer: &dyn Trainer,
        step: i64,
        batch: &[Sample],
        cancel: &CancellationToken,
    ) -> Result<(), Stop> {
        let started = Instant::now();
        let datums: Vec<_> = batch.iter().map(data::datum).collect();
        let fb = unless(cancel, trainer.forward_backward(&datums, self.cfg.loss)).await?;
        let fb = self.note_error(step, fb).await?;
        let trained_tokens: usize = batch.iter().map(|s| s.response.len()).sum();
        let loss = fb.metrics.get("loss:sum").map(|l| l / trained_tokens.max(1) as f64);
        if cancel.is_cancelled() {
            return Err(Stop::Paused);
        }
        let r = unless(cancel, trainer.optim_step(AdamParams::with_lr(self.cfg.learning_rate))).await?;
        self.note_error(step, r).await?;
        let state_path = self.save(trainer, step, "state", cancel).await?;
        let tokens: usize = batch.iter().map(Sample::tokens).sum();
        let result = StepResult {
            mean_reward: batch.iter().map(|s| s.reward).sum::<f64>() / batch.len() as f64,
            loss,
            cost_usd: tokens as f64 / 1e6 * self.cfg.usd_per_million_tokens,
            duration_ms: started.elapsed().as_millis() as i64,
            state_path,
        };
        self.store.write(move |c| record::commit_step(c, step, &result)).await?;
        self.publish(trainer, step, "step", cancel).await
    }

    /// Saves weights for sampling and serves them. Retried; if every attempt fails the run
    /// stops, and the next run publishes these weights before training further.
    async fn publish(
        &self,
        trainer: &dyn Trainer,
        step: i64,
        reason: &'static str,
        cancel: &CancellationToken,
    ) -> Result<(), Stop> {
        let path = self.save(trainer, step, "sampler", cancel).await.map_err(|e| match e {
            Stop::Failed(m) => Stop::Failed(format!(
                "step {step} is trained and saved, but saving it for sampling failed ({m}); it will be served after the next successful save"
            )),
            p => p,
        })?;
        let p = path.clone();
        self.store
            .write(move |c| {
                record::set_sampler_path(c, step, &p)?;
                record::record_serving(c, &p, Some(step), reason)
            })
            .await?;
        if let Some(s) = &self.serving {
            s.serve(&path);
        }
        Ok(())
    }

    /// A save, tried `save_attempts` times (each bounded by `save_timeout_secs`).
    async fn save(
        &self,
        trainer: &dyn Trainer,
        step: i64,
        kind: &str,
        cancel: &CancellationToken,
    ) -> Result<String, Stop> {
        let mut last = String::new();
        for attempt in 1..=self.cfg.save_attempts {
            if cancel.is_cancelled() {
                return Err(Stop::Paused);
            }
            let name = if attempt == 1 { format!("step-{step:06}") } else { format!("step-{step:06}-{attempt}") };
            let r = if kind == "state" {
                unless(cancel, trainer.save_state(&name)).await?
            } else {
                unless(cancel, trainer.save_for_sampler(&name)).await?
            };
            match r {
                Ok(p) => return Ok(p),
                Err(e) if e.transient() => {
                    tracing::warn!(step, attempt, kind, error = %e, "a save failed; trying again");
                    last = e.to_string();
                }
                Err(e) => {
                    let m = e.to_string();
                    self.store.write(move |c| record::note_step_error(c, step, &m)).await?;
                    return Err(Stop::Failed(e.to_string()));
                }
            }
        }
        let msg = format!("{} attempts: {last}", self.cfg.save_attempts);
        let m = msg.clone();
        self.store.write(move |c| record::note_step_error(c, step, &m)).await?;
        Err(Stop::Failed(msg))
    }

    async fn note_error<T>(&self, step: i64, r: Result<T, BackendError>) -> Result<T, Stop> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                let m = e.to_string();
                self.store.write(move |c| record::note_step_error(c, step, &m)).await?;
                Err(Stop::Failed(e.to_string()))
            }
        }
    }
}
