//! `mtsnn train`, `eval`, `infer`, `bench` end to end on a generated data set with the CPU backend.

use crate::common::*;
use serde_json::Value;

/// Network of the end-to-end runs: small, so that an epoch takes well under a second.
const NET: &str = "784-64-10";

fn metrics(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn train_args<'a>(data: &'a str, out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "mnist",
        "--data",
        data,
        "--net",
        NET,
        "--epochs",
        epochs,
        "--batch",
        "32",
        "--backend",
        "cpu",
        "--out",
        out,
    ]
}

#[test]
fn train_eval_infer_and_resume() {
    let tmp = TempDir::new("e2e");
    let data = tmp.join("data");
    write_dataset(&data, 3000, 500);
    let data = data.to_str().unwrap();
    let run = tmp.join("run");
    let run_s = run.to_str().unwrap();

    // One epoch.
    let out = mtsnn_in(tmp.path(), &train_args(data, run_s, "1"));
    assert_ok(&out);
    assert!(
        stderr(&out).contains("epoch 1/1: train loss"),
        "{}",
        stderr(&out)
    );
    let m = metrics(&run);
    assert_eq!(m.len(), 1);
    for field in [
        "epoch",
        "train_loss",
        "train_accuracy",
        "test_accuracy",
        "samples_per_sec",
        "epoch_seconds",
        "elapsed_seconds",
    ] {
        assert!(m[0][field].is_number(), "metrics lack {field}: {}", m[0]);
    }
    assert_eq!(m[0]["epoch"], 1);
    let acc = m[0]["test_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.6, "test accuracy {acc} after one epoch");
    for f in ["checkpoint.safetensors", "model.safetensors", "run.json"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["config"]["dataset"], "mnist");
    assert_eq!(info["net"], NET);
    assert!(info["command"].as_array().unwrap().len() > 5);
    assert!(info["machine"]["cores"].as_u64().unwrap() >= 1);

    // eval takes the data set and its directory from run.json and reproduces the epoch's test accuracy.
    let model = run.join("model.safetensors");
    let model_s = model.to_str().unwrap();
    let report = eval_report(tmp.path(), &model);
    assert_eq!(report["accuracy"].as_f64().unwrap(), acc);
    assert_eq!(report["total"], 500);

    // infer: a clean class-3 image, white on black, black on white (auto-inverted) and twice the size.
    let clean = sample(3, &mut Gen::new(1), false);
    let img = image::GrayImage::from_raw(28, 28, clean.clone()).unwrap();
    let white_on_black = tmp.join("three.png");
    img.save(&white_on_black).unwrap();
    let mut inverted = img.clone();
    image::imageops::invert(&mut inverted);
    let black_on_white = tmp.join("three-paper.png");
    inverted.save(&black_on_white).unwrap();
    let big = tmp.join("three-big.bmp");
    image::imageops::resize(&img, 56, 56, image::imageops::FilterType::Nearest)
        .save(&big)
        .unwrap();
    let paths = [&white_on_black, &black_on_white, &big].map(|p| p.to_str().unwrap().to_string());
    let mut args = vec!["infer", "--model", model_s, "--backend", "cpu", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let out = mtsnn_in(tmp.path(), &args);
    assert_ok(&out);
    let preds: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(preds.len(), 3);
    for (p, inv) in preds.iter().zip([false, true, false]) {
        assert_eq!(p["class"], 3, "{p}");
        assert_eq!(p["inverted"], inv, "{p}");
        let spikes = p["spikes"].as_array().unwrap();
        assert_eq!(spikes.len(), 2, "one row per time step");
        assert_eq!(spikes[0].as_array().unwrap().len(), 10);
    }
    // The text form names the class and lists the steps.
    let out = mtsnn_in(
        tmp.path(),
        &["infer", "--model", model_s, "--backend", "cpu", &paths[0]],
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("class 3") && text.contains("t=1") && text.contains("t=2"),
        "{text}"
    );

    // Export: weights-only files, F16 (the default) and 8-bit, a fraction of the checkpoint's size,
    // that still classify and name their data set in the metadata.
    let mut sizes = Vec::new();
    for dtype in ["f16", "i8"] {
        let exported = tmp.path().join(format!("small-{dtype}.safetensors"));
        let out = mtsnn_in(
            tmp.path(),
            &[
                "export",
                "--model",
                model_s,
                "--dtype",
                dtype,
                "--out",
                exported.to_str().unwrap(),
            ],
        );
        assert_ok(&out);
        let bytes = std::fs::read(&exported).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("\"dataset\":\"mnist\""));
        sizes.push(bytes.len());
        let out = mtsnn_in(
            tmp.path(),
            &[
                "infer",
                "--model",
                exported.to_str().unwrap(),
                "--dataset",
                "mnist",
                "--backend",
                "cpu",
                "--json",
                &paths[0],
            ],
        );
        assert_ok(&out);
        assert!(stdout(&out).contains("\"class\":3"), "{}", stdout(&out));
    }
    // The 8-bit export evaluated with its own codes (`--weights i8`) on the CPU backend; the
    // GPU has no such path and says so.
    let exported = tmp.path().join("small-i8.safetensors");
    let exported_s = exported.to_str().unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            exported_s,
            "--dataset",
            "mnist",
            "--data",
            data,
            "--json",
        ];
        args.extend_from_slice(extra);
        mtsnn_in(tmp.path(), &args)
    };
    let out = eval(&["--weights", "i8", "--backend", "cpu"]);
    assert_ok(&out);
    let r: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(r["backend"].as_str().unwrap().contains("8-bit"), "{r}");
    assert!(r["total"].as_u64().unwrap() > 0, "{r}");
    assert_fails(
        &eval(&["--weights", "i8", "--backend", "gpu"]),
        &["--weights i8 computes on the CPU backend"],
    );
    // F16 is under a fifth of the checkpoint (weights and both Adam moments), I8 about half of F16.
    assert!(sizes[0] * 5 < std::fs::metadata(model_s).unwrap().len() as usize);
    assert!(sizes[1] * 10 < sizes[0] * 6, "{sizes:?}");

    // Resume from the checkpoint to epoch 2: settings from run.json, metrics appended.
    let ckpt = run.join("checkpoint.safetensors");
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--resume",
            ckpt.to_str().unwrap(),
            "--epochs",
            "2",
            "--backend",
            "cpu",
        ],
    );
    assert_ok(&out);
    assert!(
        stderr(&out).contains("resuming after epoch 1"),
        "{}",
        stderr(&out)
    );
    let m = metrics(&run);
    assert_eq!(m.len(), 2);
    assert_eq!(m[1]["epoch"], 2);
    assert!(m[1]["elapsed_seconds"].as_f64().unwrap() > m[0]["elapsed_seconds"].as_f64().unwrap());
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["resumed"][0]["from_epoch"], 1);
    assert_eq!(info["resumed"][0]["config"]["batch"], 32);

    // A finished run cannot be resumed without a larger --epochs.
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
    assert_fails(&out, &["already trained 2 epochs", "--epochs"]);

    // Resuming gives the same epoch 2 as an uninterrupted two-epoch run.
    let straight = tmp.join("straight");
    let out = mtsnn_in(
        tmp.path(),
        &train_args(data, straight.to_str().unwrap(), "2"),
    );
    assert_ok(&out);
    let s = metrics(&straight);
    for field in ["train_loss", "train_accuracy", "test_accuracy"] {
        assert_eq!(
            s[1][field], m[1][field],
            "{field} differs between resumed and straight runs"
        );
    }
}

#[test]
fn crop_and_default_out_dir() {
    let tmp = TempDir::new("crop");
    let data = tmp.join("data");
    write_dataset(&data, 600, 100);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data",
            data.to_str().unwrap(),
            "--net",
            "784-32-10",
            "--epochs",
            "1",
            "--crop",
            "2",
            "--seed",
            "7",
            "--backend",
            "cpu",
            "--limit-train",
            "300",
            "--limit-test",
            "50",
        ],
    );
    assert_ok(&out);
    // The default output directory is runs/<dataset>-<net>-seed<seed> below the working directory.
    let run = tmp.join("runs/mnist-784-32-10-seed7");
    let m = metrics(&run);
    assert_eq!(m[0]["test_total"], 50);
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["config"]["crop"], 2);
    assert_eq!(info["config"]["limit_train"], 300);
}

#[test]
fn bench_reports_throughput_and_latency() {
    let tmp = TempDir::new("bench");
    let out = mtsnn_in(
        tmp.path(),
        &[
            "bench",
            "--net",
            "784-32-10",
            "--dataset",
            "random",
            "--backend",
            "cpu",
            "--batch",
            "16",
            "--iters",
            "3",
            "--infer-iters",
            "5",
            "--json",
        ],
    );
    assert_ok(&out);
    let r: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(r["train_samples_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["infer_latency_us"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["batch"], 16);
    assert_eq!(r["infer_weights"], "f32");
    assert_eq!(r["net"], "784-32-10");
    assert_eq!(r["data"], "random");
    // The instruction set the CPU kernels ran with, the best this CPU has.
    assert_eq!(r["isa"], mtsnn_core::cpu::simd::Isa::best().name(), "{r}");
    assert!(
        r["backend"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{})", r["isa"].as_str().unwrap())),
        "{r}"
    );
}

/// `bench --gemm`: one report per transpose variant, with the forced kernel named: a tile with
/// scalar loads, and the same tile with 16-byte loads on a shape whose every side is a multiple
/// of 4; on any GPU adapter (lavapipe will do). Without one the test fails when
/// `MTSNN_REQUIRE_GPU=1`, else it says SKIPPED and returns, as the GPU tests do.
#[test]
fn bench_gemm_times_each_transpose_of_the_chosen_kernel() {
    let tmp = TempDir::new("bench-gemm");
    for (shape, path, kernel, [m, n, k]) in [
        ("33x70x9", "32x32", "gemm.wgsl tile 32x32", [33, 70, 9]),
        (
            "36x72x8",
            "32x32-vec4",
            "gemm_vec4.wgsl tile 32x32",
            [36, 72, 8],
        ),
    ] {
        let args = [
            "bench",
            "--gemm",
            shape,
            "--gemm-path",
            path,
            "--iters",
            "2",
            "--json",
        ];
        let out = mtsnn_in(tmp.path(), &args);
        if !out.status.success()
            && stderr(&out).contains("no GPU adapter")
            && std::env::var("MTSNN_REQUIRE_GPU").map_or(true, |v| v != "1")
        {
            eprintln!("\n*** SKIPPED: no GPU adapter — bench --gemm did not run ***\n");
            return;
        }
        assert_ok(&out);
        let rows: Vec<Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let variants: Vec<(bool, bool)> = rows
            .iter()
            .map(|r| (r["a_t"].as_bool().unwrap(), r["b_t"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            variants,
            [(false, false), (true, false), (false, true), (true, true)]
        );
        for r in &rows {
            assert_eq!(
                (&r["m"], &r["n"], &r["k"]),
                (&m.into(), &n.into(), &k.into())
            );
            assert!(r["kernel"].as_str().unwrap().contains(kernel), "{r}");
            assert!(r["gflops"].as_f64().unwrap() > 0.0, "{r}");
            assert_eq!(r["runs"], 2, "{r}");
        }
    }
}

/// Arguments of a short CPU benchmark of `net` on batches of 16.
fn bench_args<'a>(net: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "bench",
        "--net",
        net,
        "--backend",
        "cpu",
        "--batch",
        "16",
        "--warmup",
        "1",
        "--iters",
        "3",
        "--infer-iters",
        "2",
    ];
    args.extend_from_slice(more);
    args
}

#[test]
fn bench_trains_on_real_images_when_given_a_data_set() {
    let tmp = TempDir::new("bench-real");
    // 40 training images: the 4 batches of 16 wrap round the shuffled set.
    write_dataset(&tmp.join("data"), 40, 10);
    let out = mtsnn_in(
        tmp.path(),
        &bench_args(
            "784-32-10",
            &["--dataset", "mnist", "--data", "data", "--json"],
        ),
    );
    assert_ok(&out);
    let r: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(r["data"], "mnist (real)");
    assert!(r["train_samples_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    // The text output says where the images came from.
    let out = mtsnn_in(
        tmp.path(),
        &bench_args(
            "784-32-10",
            &["--dataset", "fashion-mnist", "--data", "data"],
        ),
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("data: fashion-mnist training images from data (40 samples"),
        "{text}"
    );
}

#[test]
fn bench_falls_back_to_random_data_only_when_no_data_set_was_asked_for() {
    let tmp = TempDir::new("bench-fallback");
    // The paper's MNIST MLP belongs to MNIST, whose default directory data/mnist is relative to
    // the working directory, here empty: random data, and the report says why.
    let out = mtsnn_in(tmp.path(), &bench_args("784-800-10", &[]));
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("data: random") && text.contains("no mnist data set in data/mnist"),
        "{text}"
    );
    // Once data/mnist exists, the same command trains on it.
    write_dataset(&tmp.join("data/mnist"), 20, 10);
    let out = mtsnn_in(tmp.path(), &bench_args("784-800-10", &["--json"]));
    assert_ok(&out);
    let r: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(r["data"], "mnist (real)");
    // A data set asked for that is not there is an error, not a silent fallback.
    let out = mtsnn_in(
        tmp.path(),
        &bench_args("784-32-10", &["--dataset", "mnist", "--data", "nowhere"]),
    );
    assert_fails(&out, &["mnist data set was not found", "nowhere"]);
    let out = mtsnn_in(
        tmp.path(),
        &bench_args(
            "784-32-10",
            &["--dataset", "random", "--data", "data/mnist"],
        ),
    );
    assert_fails(&out, &["--data", "--dataset random"]);
    // Real images bring their shape: an --input that disagrees is an error.
    let out = mtsnn_in(
        tmp.path(),
        &bench_args("784-800-10", &["--input", "1x32x32"]),
    );
    assert_fails(&out, &["--input 1x32x32", "1x28x28"]);
}

/// `--input-scale unit` trains on p/255; the checkpoint records it, so `eval` reproduces the
/// epoch's test accuracy and `export` writes mean 0 and std 1 for readers that do not know it.
#[test]
fn unit_input_scale_is_recorded_and_followed_by_eval_and_export() {
    let tmp = TempDir::new("unit-scale");
    let data = tmp.join("data");
    write_dataset(&data, 1000, 300);
    let data = data.to_str().unwrap();
    let (unit, standard) = (tmp.join("unit"), tmp.join("standard"));
    let mut args = train_args(data, unit.to_str().unwrap(), "1");
    args.extend(["--input-scale", "unit"]);
    assert_ok(&mtsnn_in(tmp.path(), &args));
    assert_ok(&mtsnn_in(
        tmp.path(),
        &train_args(data, standard.to_str().unwrap(), "1"),
    ));
    let (m, s) = (metrics(&unit), metrics(&standard));
    assert_ne!(
        m[0]["train_loss"], s[0]["train_loss"],
        "the same weights saw other inputs"
    );
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(unit.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["hyper"]["input_scale"], "unit", "{info}");

    let model = unit.join("model.safetensors");
    let report = eval_report(tmp.path(), &model);
    assert_eq!(report["accuracy"], m[0]["test_accuracy"]);

    let exported = tmp.join("unit-f32.safetensors");
    assert_ok(&mtsnn_in(
        tmp.path(),
        &[
            "export",
            "--model",
            model.to_str().unwrap(),
            "--f32",
            "--out",
            exported.to_str().unwrap(),
        ],
    ));
    let meta = mtsnn_core::checkpoint::read_metadata(&std::fs::read(&exported).unwrap(), &exported)
        .unwrap();
    assert_eq!(
        (meta["norm_mean"].as_str(), meta["norm_std"].as_str()),
        ("0", "1")
    );
}

/// `mtsnn adapters` numbers the usable adapters as `--adapter INDEX` counts them, and `--adapter`
/// (by index or by a part of the name) moves the choice; an index beyond them chooses none. On
/// machines without a GPU these are lavapipe's adapters (Vulkan and, where present, GL).
#[test]
fn adapters_are_listed_and_chosen_by_index_or_name() {
    let tmp = TempDir::new("adapters");
    let chosen = |args: &[&str]| -> Option<String> {
        let out = mtsnn_in(tmp.path(), &[args, &["adapters"]].concat());
        assert_ok(&out);
        stdout(&out)
            .lines()
            .find(|l| l.contains("← --backend gpu uses this one"))
            .map(str::to_string)
    };
    let best =
        chosen(&[]).expect("an adapter is usable (MTSNN_REQUIRE_GPU machines have lavapipe)");
    assert!(best.trim_start().starts_with("0 "), "{best}");
    assert_eq!(chosen(&["--adapter", "0"]), Some(best.clone()));
    let name = best.split_whitespace().nth(1).unwrap().to_uppercase();
    assert_eq!(chosen(&["--adapter", &name]), Some(best));
    assert_eq!(chosen(&["--adapter", "99"]), None);
    let out = mtsnn_in(tmp.path(), &["--adapter", "no-such-gpu", "adapters"]);
    assert!(
        stdout(&out).contains("names none of them"),
        "{}",
        stdout(&out)
    );
}
