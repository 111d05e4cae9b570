//! `layerlaw`: measure how deep classifiers separate data layer by layer (He & Su, PNAS 2023) and solve the
//! Layer-Peeled Model of the last layer (Fang, He, Long & Su, PNAS 2021).

mod args;
mod error;
mod imbalance;
mod law;
mod lpm_cmd;
mod measure;
mod measure_model;
mod model_inputs;
mod next_token_cmd;
mod output;
mod plot;
mod progress;
mod render;

use clap::{Parser, Subcommand};

/// Layer-by-layer data separation and the Layer-Peeled Model.
#[derive(Parser, Debug)]
#[command(name = "layerlaw", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Separation fuzziness, NC1-NC4 and the law fit of features saved from any framework (several files side by side).
    Measure(measure::MeasureArgs),
    /// Every layer of an ONNX classifier over a dataset or an input file: D, NC1-NC4 and the law fit.
    MeasureModel(measure_model::MeasureModelArgs),
    /// Train a feedforward net and test the law of equi-separation (He & Su 2023, Figure 1).
    Law(law::LawArgs),
    /// The Layer-Peeled Model: solve one problem or sweep the imbalance ratio.
    Lpm {
        #[command(subcommand)]
        command: lpm_cmd::LpmCommand,
    },
    /// Imbalanced training and Minority Collapse, side by side with the Layer-Peeled Model.
    Imbalance(imbalance::ImbalanceArgs),
    /// The prediction residual of every layer and the law of next-token prediction (He & Su 2024).
    NextToken(next_token_cmd::NextTokenArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Measure(a) => measure::run(a),
        Command::MeasureModel(a) => measure_model::run(a),
        Command::Law(a) => law::run(a),
        Command::Lpm { command } => lpm_cmd::run(command),
        Command::Imbalance(a) => imbalance::run(a),
        Command::NextToken(a) => next_token_cmd::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
