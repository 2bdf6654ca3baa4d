//! Issue 13: training that notices divergence, checkpoints that are not finite, a clean terminal,
//! full disks, and the determinism docs/cli.md promises.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;
use serde_json::Value;

const NET: &str = "784-32-10";

/// `train` on the generated data, one epoch unless `extra` says `--epochs`.
fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let epochs = if extra.contains(&"--epochs") {
        &[][..]
    } else {
        &["--epochs", "1"][..]
    };
    let mut args = vec![
        "train",
        "--dataset",
        "mnist",
        "--data",
        data,
        "--net",
        NET,
        "--batch",
        "32",
        "--backend",
        "cpu",
        "--out",
        out,
    ];
    args.extend_from_slice(epochs);
    args.extend_from_slice(extra);
    args
}

/// Asserts a clean failure of `train`: exit code 1, the last line an `error:` naming `needles`.
fn assert_train_fails(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let at = err
        .find("\nerror: ")
        .unwrap_or_else(|| panic!("no error line:\n{err}"));
    for n in needles {
        assert!(err[at..].contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

/// A data set and a temporary directory for one test.
fn setup(name: &str) -> (TempDir, String) {
    let tmp = TempDir::new(name);
    write_dataset(&tmp.join("data"), 600, 200);
    let data = tmp.join("data").to_str().unwrap().to_string();
    (tmp, data)
}

/// Overwrites value `index` of F32 tensor `name` in a safetensors file.
fn poke(path: &Path, name: &str, index: usize, value: f32) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    let at = 8 + n + start + 4 * index;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn weights_that_overflow_stop_training_without_a_checkpoint() {
    let (tmp, data) = setup("overflow");
    let run = tmp.join("run");
    // Adam's steps of ~lr push the weights past f32::MAX within the epoch, while the loss stays
    // finite (the outputs go silent): only the per-epoch check of the weights sees it.
    let out = mtsnn_in(
        tmp.path(),
        &train_args(&data, run.to_str().unwrap(), &["--lr", "3e38"]),
    );
    assert_train_fails(
        &out,
        &[
            "training stopped in epoch 1",
            "layer0.weight",
            "not finite",
            "No checkpoint was written",
        ],
    );
    assert!(!run.join("checkpoint.safetensors").exists());
    assert!(!run.join("metrics.jsonl").exists());
}

#[test]
fn divergent_runs_are_warned_about_with_the_likely_cause() {
    let (tmp, data) = setup("diverge");
    let good = mtsnn_in(tmp.path(), &train_args(&data, "good", &["--epochs", "2"]));
    assert_ok(&good);
    assert!(!stderr(&good).contains("warning"), "{}", stderr(&good));
    let big = mtsnn_in(tmp.path(), &train_args(&data, "big", &["--lr", "1000"]));
    assert_ok(&big);
    let err = stderr(&big);
    assert!(err.contains("warning: epoch 1 looks divergent"), "{err}");
    assert!(err.contains("far above 25.0"), "{err}");
    assert!(err.contains("--lr 1000 is far above"), "{err}");
    let bptt = mtsnn_in(tmp.path(), &train_args(&data, "bptt", &["--grad", "bptt"]));
    assert_ok(&bptt);
    let err = stderr(&bptt);
    assert!(
        err.contains("looks divergent") && err.contains("at or below chance"),
        "{err}"
    );
    assert!(err.contains("--grad bptt without --detach-reset"), "{err}");
}

#[test]
fn non_finite_checkpoints_are_refused_and_dead_classes_reported() {
    let (tmp, data) = setup("finite");
    assert_ok(&mtsnn_in(
        tmp.path(),
        &train_args(&data, "run", &["--epochs", "2"]),
    ));
    let model = tmp.join("run/model.safetensors");
    let model_s = model.to_str().unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", model_s, "--backend", "cpu"];
        args.extend_from_slice(extra);
        mtsnn_in(tmp.path(), &args)
    };
    let out = eval(&["--json"]);
    assert_ok(&out);
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["dead_classes"], serde_json::json!([]));

    // Class 3's output neuron: strongly inhibited by every hidden neuron, so it never fires.
    for i in 0..32 {
        poke(&model, "layer1.weight", 3 * 32 + i, -100.0);
    }
    let out = eval(&["--json"]);
    assert_ok(&out);
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["dead_classes"], serde_json::json!([3]));
    let out = eval(&[]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("dead classes: the output neuron of class 3 (3)"),
        "{}",
        stdout(&out)
    );

    poke(&model, "layer1.weight", 7, f32::NAN);
    assert_fails(
        &eval(&[]),
        &[
            "cannot load the model",
            "layer1.weight",
            "NaN",
            "not finite",
        ],
    );
    poke(&model, "layer1.weight", 7, 0.0);
    poke(&model, "layer0.adam_v", 5, f32::INFINITY);
    assert_fails(&eval(&[]), &["layer0.adam_v", "inf"]);
}

/// Runs `mtsnn` with XDG_RUNTIME_DIR unset, as on a fresh server or in a container.
fn without_runtime_dir(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtsnn"))
        .args(args)
        .current_dir(cwd)
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap()
}

#[test]
fn commands_print_no_driver_noise() {
    let (tmp, data) = setup("quiet");
    let run = tmp.join("run");
    let out = without_runtime_dir(tmp.path(), &train_args(&data, run.to_str().unwrap(), &[]));
    assert_ok(&out);
    let model = run.join("model.safetensors");
    let model = model.to_str().unwrap();
    // --backend cpu never probes; auto probes (lavapipe, where installed, made Mesa complain) and
    // says on one line what it chose and why.
    for backend in ["cpu", "auto"] {
        let out = without_runtime_dir(
            tmp.path(),
            &["eval", "--model", model, "--backend", backend],
        );
        assert_ok(&out);
        let err = stderr(&out);
        assert!(!err.contains("XDG_RUNTIME_DIR"), "{backend}: {err}");
        if backend == "cpu" {
            assert_eq!(err, "", "{backend}");
        } else {
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("backend: cpu (auto: ") || err.starts_with("backend: gpu (auto: "),
                "{err}"
            );
        }
    }
    assert!(!stderr(&out).contains("error"));
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_last_checkpoint() {
    let (tmp, data) = setup("full");
    let run = tmp.join("run");
    let run_s = run.to_str().unwrap();
    assert_ok(&mtsnn_in(
        tmp.path(),
        &train_args(&data, run_s, &["--epochs", "3", "--stop-after", "1"]),
    ));
    let ckpt = run.join("checkpoint.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    // A file-size limit of half a checkpoint: the next checkpoint cannot be written (EFBIG, as
    // ENOSPC on a full disk; SIGXFSZ ignored so that write returns the error).
    let limit_kib = before.len() / 2 / 1024;
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
    let ckpt_s = ckpt.to_str().unwrap();
    let out = Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_mtsnn")])
        .args(["train", "--resume", ckpt_s, "--backend", "cpu"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_train_fails(
        &out,
        &[
            "cannot record epoch 2",
            "disk full",
            "still holds epoch 1",
            "File too large",
        ],
    );
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the checkpoint of epoch 1 changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Without the limit the run continues from the kept checkpoint.
    assert_ok(&mtsnn_in(
        tmp.path(),
        &["train", "--resume", ckpt_s, "--backend", "cpu"],
    ));
}

#[test]
fn same_seed_and_threads_give_the_same_bits() {
    let (tmp, data) = setup("determinism");
    let run = |out: &str, threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_mtsnn"))
            .args(train_args(&data, out, &["--epochs", "2"]))
            .current_dir(tmp.path())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert_ok(&out);
    };
    run("a", "2");
    run("b", "2");
    // The header's metadata is a map written in no fixed order: compare it parsed, the tensors
    // byte for byte.
    let parts = |d: &str| {
        let bytes = std::fs::read(tmp.join(d).join("model.safetensors")).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        (header, bytes[8 + n..].to_vec())
    };
    let (a, b) = (parts("a"), parts("b"));
    assert_eq!(a.0, b.0, "headers differ");
    assert!(a.1 == b.1, "two runs with the same seed and threads differ");
    // Resumed ≡ uninterrupted is guarded by protocol.rs and end_to_end.rs.
}
