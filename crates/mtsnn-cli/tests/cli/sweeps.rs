//! `mtsnn sweep` on a generated data set: one run folder per grid point, a summary listing them
//! all, figures, and an interrupted sweep continued without losing or repeating work.

use std::path::Path;

use serde_json::Value;

use crate::common::*;
use crate::figures::assert_figure;

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn sweep_args<'a>(data: &'a str, epochs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sweep",
        "--grid",
        "steps",
        "--values",
        "1,2",
        "--out",
        "sw",
        "--dataset",
        "mnist",
        "--data",
        data,
        "--net",
        "784-24-10",
        "--epochs",
        epochs,
        "--batch",
        "32",
        "--backend",
        "cpu",
        "--limit-train",
        "400",
        "--limit-test",
        "100",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn sweep_runs_every_point_and_continues_where_it_stopped() {
    let tmp = TempDir::new("sweep");
    let data = tmp.join("data");
    write_dataset(&data, 400, 100);
    let data = data.to_str().unwrap();
    let sw = tmp.join("sw");

    let out = mtsnn_in(tmp.path(), &sweep_args(data, "1", &[]));
    assert_ok(&out);
    let s = summary(&sw);
    assert_eq!(s["grid"], "steps");
    assert_eq!(s["option"], "--steps");
    assert_eq!(s["epochs"], 1);
    let points = s["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for (p, steps) in points.iter().zip(["1", "2"]) {
        assert_eq!(p["value"], steps);
        assert_eq!(p["status"], "complete", "{p}");
        let dir = sw.join(p["dir"].as_str().unwrap());
        assert_eq!(dir, sw.join(format!("steps-{steps}")));
        for f in ["metrics.jsonl", "run.json", "model.safetensors"] {
            assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
        }
        assert!(
            !dir.join("checkpoint.safetensors").exists(),
            "the final model replaces it"
        );
        let r = &p["result"];
        assert_eq!(r["epochs"], 1);
        for f in [
            "final_test_accuracy",
            "best_test_accuracy",
            "final_train_accuracy",
            "seconds",
        ] {
            assert!(r[f].as_f64().is_some(), "{f} missing: {r}");
        }
        // The grid's fixed S_max = 1 (Fig 9) and the loss target lowered to it reach the run.
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(info["hyper"]["steps"].to_string(), steps);
        assert_eq!(info["hyper"]["s_max"], 1);
        assert_eq!(info["hyper"]["target_count"], 1.0);
        assert_eq!(info["config"]["limit_train"], 400);
        let cmd = p["train_command"].as_str().unwrap();
        assert!(
            cmd.starts_with("mtsnn train --net 784-24-10 --dataset mnist"),
            "{cmd}"
        );
        assert!(cmd.contains(&format!("--steps {steps}")), "{cmd}");
    }
    let md = std::fs::read_to_string(sw.join("summary.md")).unwrap();
    assert!(
        md.contains("steps-1") && md.contains("steps-2") && md.contains("Fig 9"),
        "{md}"
    );
    let command = "mtsnn sweep --grid steps --values 1,2";
    assert_figure(&sw.join("accuracy.png"), (800, 500), command);
    assert_figure(&sw.join("curves.png"), (1000, 400), command);

    // Run again: nothing to do.
    let out = mtsnn_in(tmp.path(), &sweep_args(data, "1", &[]));
    assert_ok(&out);
    assert_eq!(
        stderr(&out).matches("complete, skipped").count(),
        2,
        "{}",
        stderr(&out)
    );

    // Interrupt T = 1 after its first of two epochs (its last file a checkpoint, as train leaves
    // it), then continue to 2 epochs: T = 1 resumes from its checkpoint, T = 2 from its final model.
    let one = sw.join("steps-1");
    std::fs::rename(
        one.join("model.safetensors"),
        one.join("checkpoint.safetensors"),
    )
    .unwrap();
    let out = mtsnn_in(tmp.path(), &sweep_args(data, "2", &[]));
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("resuming from") && err.contains("checkpoint.safetensors"),
        "{err}"
    );
    assert!(err.contains("steps-2/model.safetensors"), "{err}");
    for p in summary(&sw)["points"].as_array().unwrap() {
        assert_eq!(p["status"], "complete");
        assert_eq!(p["result"]["epochs"], 2);
        let lines =
            std::fs::read_to_string(sw.join(p["dir"].as_str().unwrap()).join("metrics.jsonl"))
                .unwrap()
                .lines()
                .count();
        assert_eq!(lines, 2, "epoch 1 kept, epoch 2 appended");
    }

    // Changed settings are refused rather than mixed into the old sweep.
    let out = mtsnn_in(tmp.path(), &sweep_args(data, "2", &["--lr", "0.001"]));
    assert_fails(&out, &["other settings", "--force"]);
}

#[test]
fn sweep_refuses_bad_grids_before_training() {
    let tmp = TempDir::new("sweep-bad");
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["sweep", "--grid", "s-max", "--s-max", "3"],
            &["sets --s-max itself", "--values"],
        ),
        (
            &["sweep", "--grid", "alpha-w", "--values", "2,-1"],
            &["\"-1\"", "alpha-w", "positive"],
        ),
        (
            &["sweep", "--grid", "steps", "--values", "1,1"],
            &["lists 1 twice"],
        ),
        (
            &["sweep", "--grid", "grad", "--resume", "x"],
            &["no --resume"],
        ),
    ];
    for (args, needles) in cases {
        let out = mtsnn_in(tmp.path(), args);
        assert_fails(&out, needles);
    }
    assert!(!tmp.join("runs").exists(), "nothing was written");
}

#[test]
fn a_failing_point_is_recorded_and_the_sweep_goes_on() {
    let tmp = TempDir::new("sweep-fail");
    let out = mtsnn_in(
        tmp.path(),
        &[
            "sweep",
            "--grid",
            "grad",
            "--data",
            "no-such-dir",
            "--backend",
            "cpu",
            "--out",
            "sw",
        ],
    );
    // Progress comes first; the error is the last line.
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: 2 of 2 points failed (gradient = paper, bptt); see "),
        "{err}"
    );
    let points = summary(&tmp.join("sw"))["points"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(points.len(), 2);
    for p in points {
        assert_eq!(p["status"], "failed");
        let error = p["error"].as_str().unwrap();
        assert!(
            error.starts_with("the fashion-mnist data set was not found"),
            "{error}"
        );
    }
}

/// The processes whose parent is `pid`, from `/proc/*/stat` ("pid (name) state ppid …").
#[cfg(target_os = "linux")]
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.ok()?.path().join("stat")).ok()?;
            let (head, tail) = stat.rsplit_once(')')?;
            let ppid: u32 = tail.split_whitespace().nth(1)?.parse().ok()?;
            let own: u32 = head.split_whitespace().next()?.parse().ok()?;
            (ppid == pid).then_some(own)
        })
        .collect()
}

/// A point's training run stopped by a signal (SIGTERM: it checkpoints and exits with 75) stops
/// the sweep: the next point is not started, and the point stays pending with its checkpoint, for
/// the same command to resume.
#[cfg(target_os = "linux")]
#[test]
fn a_point_stopped_by_a_signal_stops_the_sweep() {
    use std::time::{Duration, Instant};
    let tmp = TempDir::new("sweep-signal");
    let data = tmp.join("data");
    write_dataset(&data, 400, 100);
    let data = data.to_str().unwrap();
    let sw = tmp.join("sw");
    let log = tmp.join("sweep.log");
    let mut sweep = std::process::Command::new(env!("CARGO_BIN_EXE_mtsnn"))
        .args(sweep_args(data, "5000", &[]))
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let wait_for = |what: &str, done: &mut dyn FnMut() -> bool| {
        while !done() {
            assert!(Instant::now() < deadline, "{what} took over 2 minutes");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("the first epoch", &mut || {
        sw.join("steps-1").join("metrics.jsonl").is_file()
    });
    let children = children_of(sweep.id());
    assert_eq!(
        children.len(),
        1,
        "one training run at a time: {children:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &children[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    wait_for("the sweep's end", &mut || {
        status = sweep.try_wait().unwrap();
        status.is_some()
    });
    let text = std::fs::read_to_string(&log).unwrap();
    // The point checkpoints and exits with 75; so does the sweep, starting nothing more.
    assert_eq!(status.unwrap().code(), Some(75), "{text}");
    assert!(
        text.contains("interrupted in epoch") && text.contains("the sweep stops here"),
        "{text}"
    );
    assert!(!sw.join("steps-2").exists(), "the next point started");
    assert_eq!(summary(&sw)["points"][0]["status"], "pending");
    assert!(sw.join("steps-1").join("checkpoint.safetensors").is_file());
}

/// `--set` over any option times `--seeds`, two points at a time: every combination trains once,
/// each in its folder with its own settings; the manifest lists them with their commands,
/// `run-point` skips a complete point, `status` and `summary` read the folders, and the summary
/// gives one mean ± std per learning rate over its seeds. Running the same sweep with one more
/// seed keeps the points' indices and trains only the new ones.
#[test]
fn a_set_by_seeds_sweep_runs_two_points_at_once_and_summarises_per_group() {
    let tmp = TempDir::new("sweep-set");
    let data = tmp.join("data");
    write_dataset(&data, 300, 100);
    let data = data.to_str().unwrap();
    let sweep = |seeds: &str| {
        let args = [
            "sweep",
            "--set",
            "lr=0.005,0.002",
            "--seeds",
            seeds,
            "--jobs",
            "2",
            "--out",
            "sw",
            "--dataset",
            "mnist",
            "--data",
            data,
            "--net",
            "784-16-10",
            "--epochs",
            "1",
            "--batch",
            "32",
            "--backend",
            "cpu",
        ];
        mtsnn_in(tmp.path(), &args)
    };
    let out = sweep("1,2");
    assert_ok(&out);
    let sw = tmp.join("sw");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(sw.join("sweep.json")).unwrap()).unwrap();
    let dirs: Vec<&str> = manifest["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["dir"].as_str().unwrap())
        .collect();
    assert_eq!(
        dirs,
        [
            "lr-0.005_seed-1",
            "lr-0.005_seed-2",
            "lr-0.002_seed-1",
            "lr-0.002_seed-2"
        ]
    );
    for (dir, (lr, seed)) in dirs
        .iter()
        .zip([(0.005, 1), (0.005, 2), (0.002, 1), (0.002, 2)])
    {
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(sw.join(dir).join("run.json")).unwrap())
                .unwrap();
        assert_eq!(info["hyper"]["lr"], lr, "{dir}");
        assert_eq!(info["config"]["seed"], seed, "{dir}");
        assert!(sw.join(dir).join("model.safetensors").is_file(), "{dir}");
    }
    let status = stdout(&mtsnn_in(tmp.path(), &["sweep", "status", "sw", "--json"]));
    let states: Vec<Value> = status
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(states.len(), 4);
    assert!(states.iter().all(|s| s["status"] == "complete"), "{status}");
    let text = stdout(&mtsnn_in(tmp.path(), &["sweep", "summary", "sw"]));
    assert!(text.contains("[lr=0.005] Final test accuracy"), "{text}");
    assert!(text.contains("[lr=0.002] Final test accuracy"), "{text}");
    assert_eq!(text.matches("over n = 2 of 2 runs").count(), 2, "{text}");
    let err = stderr(&mtsnn_in(
        tmp.path(),
        &["sweep", "run-point", "sw", "--index", "2"],
    ));
    assert!(err.contains("complete, skipped"), "{err}");

    // One more seed: the old points keep their indices, only the two new ones train.
    let out = sweep("1,2,3");
    assert_ok(&out);
    assert_eq!(stderr(&out).matches("complete, skipped").count(), 4);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(sw.join("sweep.json")).unwrap()).unwrap();
    let points = manifest["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert_eq!(points[2]["dir"], "lr-0.002_seed-1");
    assert_eq!(points[5]["dir"], "lr-0.002_seed-3");
    assert!(sw.join("lr-0.002_seed-3/model.safetensors").is_file());
}
