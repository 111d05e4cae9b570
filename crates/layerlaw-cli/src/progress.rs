//! Progress bars on stderr (hidden when stderr is not a terminal or when JSON goes to stdout), and
//! the experiments' [`Progress`] shown with them.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use layerlaw_experiments::Progress;
use layerlaw_train::EpochStats;

/// A progress bar of `len` steps with a message slot; drawn only on an interactive stderr unless `quiet`.
pub fn bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if quiet {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

/// One bar per training run, with loss, accuracy and learning rate; notes on stderr.
pub struct EpochBars {
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl EpochBars {
    /// Bars drawn unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        EpochBars { quiet, bar: None }
    }
}

impl Progress for EpochBars {
    fn run_started(&mut self, label: &str, epochs: usize) {
        self.bar = Some(bar(epochs as u64, label, self.quiet));
    }

    fn epoch(&mut self, s: &EpochStats) {
        if let Some(b) = &self.bar {
            b.set_position(s.epoch as u64 + 1);
            b.set_message(format!(
                "loss {:.4} acc {:.3} lr {:.2e}",
                s.loss, s.train_accuracy, s.lr
            ));
        }
    }

    fn run_finished(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    fn note(&mut self, note: &str) {
        eprintln!("note: {note}");
    }
}
