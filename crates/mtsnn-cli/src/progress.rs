//! Progress of a training: a live bar per epoch on a terminal (nothing otherwise), and one summary
//! line per epoch, the trainer's notes and warnings on stderr either way.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mtsnn_core::Event;

/// The bar of one epoch, counting training samples.
pub struct EpochBar {
    bar: ProgressBar,
}

impl EpochBar {
    /// A bar for epoch `epoch` of `epochs` over `samples` samples, on stderr when it is a terminal
    /// (indicatif hides it otherwise).
    pub fn new(epoch: usize, epochs: usize, samples: usize) -> Self {
        let bar = ProgressBar::with_draw_target(Some(samples as u64), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{prefix} [{bar:20}] {pos}/{len} {elapsed} {wide_msg}")
                .expect("the template is valid")
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        Self { bar }
    }

    /// Records `done` samples so far and the throughput (the loss and accuracy come back with
    /// the epoch's statistics, once the epoch is done).
    pub fn update(&self, done: usize, samples_per_sec: f64) {
        self.bar.set_position(done as u64);
        self.bar.set_message(format!("{samples_per_sec:.0}/s"));
    }

    /// Says that the training samples are done and the test set is being evaluated.
    pub fn testing(&self) {
        self.bar
            .set_message(format!("{}, testing…", self.bar.message()));
    }

    /// Removes the bar, leaving the terminal for the summary line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Shows a trainer's events ([`mtsnn_core::Trainer::run`]) on stderr.
#[derive(Default)]
pub struct TrainDisplay {
    bar: Option<EpochBar>,
    epochs: usize,
}

impl TrainDisplay {
    /// Shows one event.
    pub fn show(&mut self, event: Event) {
        match event {
            Event::Note(text) => eprintln!("{text}"),
            Event::Warning(text) => {
                if let Some(b) = &self.bar {
                    b.finish();
                }
                eprintln!("warning: {text}");
            }
            Event::EpochStarted {
                epoch,
                epochs,
                samples,
                done,
            } => {
                let bar = EpochBar::new(epoch, epochs, samples);
                bar.update(done, 0.0);
                (self.bar, self.epochs) = (Some(bar), epochs);
            }
            Event::Progress {
                done,
                samples_per_sec,
            } => {
                if let Some(b) = &self.bar {
                    b.update(done, samples_per_sec);
                }
            }
            Event::Testing => {
                if let Some(b) = &self.bar {
                    b.testing();
                }
            }
            Event::EpochDone(m) => {
                if let Some(b) = self.bar.take() {
                    b.finish();
                }
                eprintln!(
                    "epoch {}/{}: train loss {:.4} acc {:.2} %, test {:.2} %, {:.0} samples/s, {:.1} s",
                    m.epoch,
                    self.epochs,
                    m.train_loss,
                    100.0 * m.train_accuracy,
                    100.0 * m.test_accuracy,
                    m.samples_per_sec,
                    m.epoch_seconds
                );
            }
            _ => {}
        }
    }
}
