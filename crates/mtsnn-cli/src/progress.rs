//! Progress of a training epoch: a live bar on a terminal, nothing otherwise (the caller prints one
//! summary line per epoch either way).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
