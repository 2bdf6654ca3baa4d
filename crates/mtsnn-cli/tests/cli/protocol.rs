//! The paper's protocol and the options of its investigation on a generated data set: learning-rate
//! schedules that survive an interruption bit for bit, and `mtsnn sweep --grid seed`, which skips
//! complete runs, resumes unfinished ones, starts missing ones and summarises them as mean ± std.

use std::path::Path;

use mtsnn_core::Model;
use serde_json::Value;

use crate::common::*;

/// Options of every run here: 400 training samples in batches of 32 (13 updates per epoch).
fn base(data: &str) -> Vec<&str> {
    vec![
        "--dataset",
        "mnist",
        "--data",
        data,
        "--net",
        "784-24-10",
        "--batch",
        "32",
        "--backend",
        "cpu",
        "--limit-train",
        "400",
        "--limit-test",
        "100",
    ]
}

fn train(tmp: &TempDir, data: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--out", out];
    args.extend(base(data));
    args.extend_from_slice(extra);
    mtsnn_in(tmp.path(), &args)
}

fn metrics(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Asserts that two saved models hold bit-identical weights and optimiser state.
fn assert_same_model(a: &Path, b: &Path) {
    let (a, b) = (Model::load(a).unwrap(), Model::load(b).unwrap());
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(a.adam().step, b.adam().step);
    assert_eq!(a.hyper(), b.hyper());
    let bits = |v: &[Vec<f32>]| -> Vec<Vec<u32>> {
        v.iter()
            .map(|l| l.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    assert!(bits(a.weights()) == bits(b.weights()), "weights differ");
    assert!(bits(&a.adam().m) == bits(&b.adam().m), "Adam's m differs");
    assert!(bits(&a.adam().v) == bits(&b.adam().v), "Adam's v differs");
}

#[test]
fn scheduled_runs_resume_bit_identically() {
    let tmp = TempDir::new("schedule");
    let data = tmp.join("data");
    write_dataset(&data, 400, 100);
    let data = data.to_str().unwrap();

    for (name, schedule, cut) in [
        ("cosine", &["--lr-schedule", "cosine"][..], "1"),
        (
            "step",
            &["--lr-schedule", "step", "--lr-decay-at", "0.5"][..],
            "2",
        ),
    ] {
        let straight = format!("{name}-straight");
        let mut extra = vec!["--epochs", "3"];
        extra.extend_from_slice(schedule);
        assert_ok(&train(&tmp, data, &straight, &extra));

        // Interrupted after epoch `cut`: the checkpoint stays, no final model.
        let resumed = format!("{name}-resumed");
        let mut cut_extra = extra.clone();
        cut_extra.extend(["--stop-after", cut]);
        let out = train(&tmp, data, &resumed, &cut_extra);
        assert_ok(&out);
        assert!(
            stderr(&out).contains(&format!("stopped after epoch {cut} of 3")),
            "{}",
            stderr(&out)
        );
        let dir = tmp.join(&resumed);
        assert!(!dir.join("model.safetensors").exists());
        let ckpt = dir.join("checkpoint.safetensors");
        // Resumed with the settings of its run.json (3 epochs, the schedule from the checkpoint).
        let out = mtsnn_in(
            tmp.path(),
            &[
                "train",
                "--resume",
                ckpt.to_str().unwrap(),
                "--backend",
                "cpu",
            ],
        );
        assert_ok(&out);
        assert_same_model(
            &tmp.join(&straight).join("model.safetensors"),
            &dir.join("model.safetensors"),
        );
        let (s, r) = (metrics(&tmp.join(&straight)), metrics(&dir));
        assert_eq!(s.len(), 3);
        for (a, b) in s.iter().zip(&r) {
            for f in ["lr", "train_loss", "train_accuracy", "test_accuracy"] {
                assert_eq!(a[f], b[f], "{name}: {f} of epoch {}", a["epoch"]);
            }
        }
        // The learning rate of each epoch, as recorded.
        let base = f64::from(0.005f32);
        let want: [f64; 3] = match name {
            "cosine" => [1.0, 0.75, 0.25],
            _ => [1.0, 1.0, 0.1],
        };
        for (m, f) in s.iter().zip(want) {
            let lr = m["lr"].as_f64().unwrap() as f32;
            assert!(
                (f64::from(lr) - base * f).abs() < 1e-9,
                "{name} epoch {}: lr {lr}",
                m["epoch"]
            );
        }
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        let sch = &info["hyper"]["lr_schedule"];
        assert_eq!(sch["kind"], name);
        assert_eq!(sch["epochs"], 3);
        assert_eq!(sch["updates_per_epoch"], 13);
    }

    // The schedule is what trains: the two runs part after their common first epoch.
    let (c, s) = (
        Model::load(&tmp.join("cosine-straight/model.safetensors")).unwrap(),
        Model::load(&tmp.join("step-straight/model.safetensors")).unwrap(),
    );
    assert_ne!(c.weights(), s.weights());

    // A scheduled run keeps its length, batch and schedule.
    let ckpt = tmp.join("cosine-resumed/checkpoint.safetensors");
    let ckpt = ckpt.to_str().unwrap();
    let resume = |extra: &[&str]| {
        let mut args = vec!["train", "--resume", ckpt, "--backend", "cpu"];
        args.extend_from_slice(extra);
        mtsnn_in(tmp.path(), &args)
    };
    assert_fails(
        &resume(&["--epochs", "5"]),
        &["schedule over 3 epochs", "--epochs 5"],
    );
    assert_fails(
        &resume(&["--epochs", "3", "--lr-schedule", "step"]),
        &["--lr-schedule cosine", "--lr-schedule says step"],
    );
    // Not the last checkpoint: the run ended, so pretend it stopped after epoch 1 again.
    let again = tmp.join("again");
    let out = train(
        &tmp,
        data,
        again.to_str().unwrap(),
        &[
            "--epochs",
            "3",
            "--lr-schedule",
            "cosine",
            "--stop-after",
            "1",
        ],
    );
    assert_ok(&out);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--resume",
            again.join("checkpoint.safetensors").to_str().unwrap(),
            "--backend",
            "cpu",
            "--batch",
            "16",
        ],
    );
    assert_fails(&out, &["13 updates per epoch", "makes 25 per epoch"]);
    // Decay fractions without the step schedule, and bad ones.
    let out = train(
        &tmp,
        data,
        "x",
        &["--lr-schedule", "cosine", "--lr-decay-at", "0.5"],
    );
    assert_fails(&out, &["--lr-decay-at belongs to --lr-schedule step"]);
    let out = train(
        &tmp,
        data,
        "x",
        &["--lr-schedule", "step", "--lr-decay-at", "0.8,0.4"],
    );
    assert_fails(&out, &["decay fractions must increase"]);
    let out = train(&tmp, data, "x", &["--adam-eps", "0"]);
    assert_fails(&out, &["eps"]);
    assert!(!tmp.join("x").exists());
}

fn seed_sweep<'a>(data: &'a str, seeds: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "sweep", "--grid", "seed", "--seeds", seeds, "--out", "sw", "--epochs", "2",
    ];
    args.extend(base(data));
    args
}

#[test]
fn seed_sweep_skips_resumes_starts_and_summarises() {
    let tmp = TempDir::new("seed-sweep");
    let data = tmp.join("data");
    write_dataset(&data, 400, 100);
    let data = data.to_str().unwrap();
    let sw = tmp.join("sw");

    // Seed 1 was interrupted after its first epoch.
    let out = train(
        &tmp,
        data,
        "sw/seed-1",
        &["--seed", "1", "--epochs", "2", "--stop-after", "1"],
    );
    assert_ok(&out);

    // The sweep resumes seed 1 from its checkpoint and starts seed 2.
    let out = mtsnn_in(tmp.path(), &seed_sweep(data, "1,2"));
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("resuming from") && err.contains("seed-1/checkpoint.safetensors"),
        "{err}"
    );
    assert!(err.contains("point 2/2 (seed = 2): mtsnn train"), "{err}");
    for seed in ["1", "2"] {
        let dir = sw.join(format!("seed-{seed}"));
        assert_eq!(metrics(&dir).len(), 2, "seed {seed}");
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(info["config"]["seed"].to_string(), seed);
    }
    // Resumed in the sweep, seed 1 is bit-identical to an uninterrupted run; seed 2 differs.
    assert_ok(&train(
        &tmp,
        data,
        "straight",
        &["--seed", "1", "--epochs", "2"],
    ));
    assert_same_model(
        &tmp.join("straight/model.safetensors"),
        &sw.join("seed-1/model.safetensors"),
    );
    assert_ne!(
        Model::load(&sw.join("seed-1/model.safetensors"))
            .unwrap()
            .weights(),
        Model::load(&sw.join("seed-2/model.safetensors"))
            .unwrap()
            .weights()
    );

    // Again with --keep-export f16: nothing to train; each complete seed's full model is replaced by its
    // F16 export (as results/ keeps them), the same weights to F16's precision. Then without it: still
    // nothing to do. With a third seed: only that one trains.
    let full = Model::load(&sw.join("seed-2/model.safetensors")).unwrap();
    // Seed 1 as a run trained outside the sweep leaves it: its last checkpoint beside the model.
    std::fs::copy(
        sw.join("seed-1/model.safetensors"),
        sw.join("seed-1/checkpoint.safetensors"),
    )
    .unwrap();
    let mut args = seed_sweep(data, "1,2");
    args.extend(["--keep-export", "f16"]);
    let out = mtsnn_in(tmp.path(), &args);
    assert_ok(&out);
    assert_eq!(stderr(&out).matches("complete, skipped").count(), 2);
    let seed2 = sw.join("seed-2");
    for seed in ["seed-1", "seed-2"] {
        assert!(!sw.join(seed).join("model.safetensors").exists(), "{seed}");
        assert!(
            !sw.join(seed).join("checkpoint.safetensors").exists(),
            "{seed}"
        );
        assert!(
            sw.join(seed).join("model-f16.safetensors").is_file(),
            "{seed}"
        );
    }
    let kept = Model::load(&seed2.join("model-f16.safetensors")).unwrap();
    for (k, f) in kept.weights().iter().zip(full.weights()) {
        assert_eq!(k.len(), f.len());
        // F16 keeps 11 significant bits: a relative error of at most 2⁻¹¹ (and 2⁻²⁵ near 0).
        for (&k, &f) in k.iter().zip(f) {
            assert!((k - f).abs() <= f.abs() / 2048.0 + 3e-8, "{f} kept as {k}");
        }
    }
    let out = mtsnn_in(tmp.path(), &seed_sweep(data, "1,2"));
    assert_ok(&out);
    assert_eq!(stderr(&out).matches("complete, skipped").count(), 2);
    assert!(!seed2.join("model.safetensors").exists());
    let out = mtsnn_in(tmp.path(), &seed_sweep(data, "1,2,3"));
    assert_ok(&out);
    let err = stderr(&out);
    assert_eq!(err.matches("complete, skipped").count(), 2, "{err}");
    assert!(err.contains("point 3/3 (seed = 3): mtsnn train"), "{err}");

    // The summary: mean ± sample std, min and max of the final test accuracies, and the best
    // epochs' apart, labelled as chosen on the test set.
    let finals: Vec<f64> = ["1", "2", "3"]
        .iter()
        .map(|s| {
            metrics(&sw.join(format!("seed-{s}")))[1]["test_accuracy"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mean = finals.iter().sum::<f64>() / 3.0;
    let std = (finals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let min = finals.iter().copied().fold(1.0, f64::min);
    let max = finals.iter().copied().fold(0.0, f64::max);
    let want = format!(
        "Final test accuracy (after epoch 2), mean ± sample std over n = 3 of 3 runs: \
         {:.2} ± {:.2} % (min {:.2} %, max {:.2} %)",
        100.0 * mean,
        100.0 * std,
        100.0 * min,
        100.0 * max
    );
    let out = mtsnn_in(tmp.path(), &["sweep", "summary", "sw"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains(&want), "{want}\n{text}");
    assert!(
        text.contains("Best epoch's test accuracy, chosen on the test set (optimistic): "),
        "{text}"
    );
    assert_eq!(text.matches(" complete ").count(), 3, "{text}");
    let md = std::fs::read_to_string(sw.join("summary.md")).unwrap();
    assert!(md.contains(&want), "{md}");

    // A run in progress (here: seed 3 cut back to its first epoch) is listed apart.
    let three = sw.join("seed-3");
    let lines = std::fs::read_to_string(three.join("metrics.jsonl")).unwrap();
    std::fs::write(three.join("metrics.jsonl"), lines.lines().next().unwrap()).unwrap();
    let text = stdout(&mtsnn_in(tmp.path(), &["sweep", "summary", "sw"]));
    assert!(text.contains("over n = 2 of 3 runs"), "{text}");
    assert!(
        text.contains("Not complete: seed = 3 (epoch 1 of 2)."),
        "{text}"
    );

    // Misuse.
    let cases: [(&[&str], &[&str]); 7] = [
        (&["sweep", "--seeds", "1,2,1"], &["--seed lists 1 twice"]),
        (
            &["sweep", "--set", "flip=true,maybe"],
            &["--flip is a switch: its values are true and false"],
        ),
        (
            &["sweep", "--set", "no-such=1,2"],
            &["--no-such is not an option of `mtsnn train`"],
        ),
        (&["sweep", "--set", "lr"], &["expected KEY=V1,V2"]),
        (
            &["sweep", "--grid", "seed", "--seed", "3"],
            &["sets --seed itself"],
        ),
        (
            &["sweep", "--grid", "seed", "--stop-after", "3"],
            &["no --stop-after"],
        ),
        (
            &["sweep", "summary", "nowhere"],
            &["nowhere", "summary.json"],
        ),
    ];
    for (args, needles) in cases {
        assert_fails(&mtsnn_in(tmp.path(), args), needles);
    }
}

/// `scripts/adam-epsilon.py`, which shows where Adam's ε acts in a trained network (docs/results.md's ε
/// discussion; the ε runs are its evidence): on a real checkpoint it reads the Adam step and every
/// layer's second moments, and the share of weights an ε would touch grows with ε; a file without
/// Adam state is refused.
#[test]
fn adam_epsilon_script_reads_a_checkpoints_adam_state() {
    let tmp = TempDir::new("adam-eps");
    let data = tmp.join("data");
    write_dataset(&data, 400, 100);
    let data = data.to_str().unwrap();
    let run = tmp.join("run");
    let mut args = vec!["train", "--epochs", "1", "--out", run.to_str().unwrap()];
    args.extend(base(data));
    assert_ok(&mtsnn_in(tmp.path(), &args));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/adam-epsilon.py");
    let analyse = |file: &Path| {
        std::process::Command::new("python3")
            .arg(&script)
            .arg(file)
            .output()
            .expect("python3 runs")
    };
    let out = analyse(&run.join("model.safetensors"));
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Adam step 13,"), "{text}");
    for layer in ["layer0", "layer1"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {layer} |")))
            .unwrap_or_else(|| panic!("no row for {layer}: {text}"));
        let shares: Vec<f64> = row
            .split('|')
            .filter_map(|c| c.trim().strip_suffix(" %"))
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(shares.len(), 6, "{row}");
        assert!(
            shares.windows(2).all(|w| w[0] <= w[1]) && shares.iter().all(|&s| s <= 100.0),
            "shares must grow with ε: {row}"
        );
    }
    let export = tmp.join("small.safetensors");
    let model = run.join("model.safetensors");
    let args = [
        "export",
        "--model",
        model.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ];
    assert_ok(&mtsnn_in(tmp.path(), &args));
    let refused = analyse(&export);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a training checkpoint"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// A protocol folder of results/ (made before sweep manifests; seed 1 keeping an I8 export in
/// place of its model, the other seeds only their `eval.txt`) still reads as complete: `sweep
/// summary` and `status` on a copy give the five seeds and their mean ± std as README states it.
#[test]
fn a_results_protocol_folder_summarises_as_before() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/protocol-fmnist-mlp-784-400-400-10");
    let tmp = TempDir::new("results-summary");
    let copy = tmp.join("protocol");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(results.join("summary.json"), copy.join("summary.json")).unwrap();
    for seed in 1..=5 {
        let (from, to) = (
            results.join(format!("seed-{seed}")),
            copy.join(format!("seed-{seed}")),
        );
        std::fs::create_dir(&to).unwrap();
        let kept = [
            "metrics.jsonl",
            "run.json",
            "eval.txt",
            "model-i8.safetensors",
        ];
        for f in kept.into_iter().filter(|f| from.join(f).is_file()) {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
        assert!(
            to.join("eval.txt").is_file(),
            "seed {seed} keeps no eval.txt"
        );
    }
    let out = mtsnn_in(tmp.path(), &["sweep", "summary", "protocol"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_eq!(text.matches(" complete ").count(), 5, "{text}");
    assert!(
        text.contains("over n = 5 of 5 runs: 90.81 ± 0.22 %"),
        "{text}"
    );
    let status = stdout(&mtsnn_in(tmp.path(), &["sweep", "status", "protocol"]));
    assert_eq!(status.matches("complete").count(), 5, "{status}");
}
