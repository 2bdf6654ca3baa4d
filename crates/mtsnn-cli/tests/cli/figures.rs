//! `mtsnn plot`: the surrogate figure's data against the closed forms of eq 5 and eq 14–16, and
//! every figure a valid PNG with visible content and the command in its metadata.

use std::path::Path;

use crate::common::*;

/// Decodes the PNG at `path` and checks it: at least `min_size` pixels each way, RGB, a `Comment`
/// text chunk containing `command`, and real content (between 2 % and 60 % of the pixels
/// non-white, in at least 4 colours: text, axes, lines).
pub fn assert_figure(path: &Path, min_size: (u32, u32), command: &str) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let comment = reader
        .info()
        .utf8_text
        .iter()
        .find(|c| c.keyword == "Comment")
        .map(|c| c.get_text().unwrap())
        .unwrap_or_default();
    assert!(
        comment.contains(command),
        "{}: Comment {comment:?} lacks {command:?}",
        path.display()
    );
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    assert!(
        frame.width >= min_size.0 && frame.height >= min_size.1,
        "{}: {}×{}",
        path.display(),
        frame.width,
        frame.height
    );
    let pixels: Vec<[u8; 3]> = buf[..frame.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count() as f64;
    let share = inked / pixels.len() as f64;
    assert!(
        (0.02..0.6).contains(&share),
        "{}: {:.1} % of the pixels are not white",
        path.display(),
        100.0 * share
    );
    let mut colours: Vec<[u8; 3]> = pixels;
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() >= 4,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
}

#[test]
fn surrogate_figure_plots_the_closed_forms() {
    let tmp = TempDir::new("plot-surrogates");
    let out = mtsnn_in(
        tmp.path(),
        &[
            "plot",
            "surrogates",
            "--out",
            "fig/surrogates.png",
            "--csv",
            "samples.csv",
        ],
    );
    assert_ok(&out);
    assert_figure(
        &tmp.join("fig/surrogates.png"),
        (1000, 400),
        "mtsnn plot surrogates --out fig/surrogates.png",
    );

    // Fig 5's setting (S_max = 3, α_H = α_W = V_th = 1); eq 5, 14, 15, 16 written out in f64.
    let csv = std::fs::read_to_string(tmp.join("samples.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("u,s,f1,f2,f3"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() > 500, "{} samples", rows.len());
    assert_eq!((rows[0][0], rows[rows.len() - 1][0]), (-1.0, 5.0));
    let mut steps_seen = [false; 4];
    for r in &rows {
        let u = r[0];
        let f1: f64 = (1..=3)
            .map(|i| i as f64 * (-(u - i as f64).powi(2) / (1.0 / i as f64)).exp())
            .sum();
        let f2: f64 = (1..=3).map(|i| (-(u - i as f64).powi(2) / 1.0).exp()).sum();
        let f3 = if !(0.0..4.0).contains(&u) {
            0.0
        } else if u < 1.0 {
            u
        } else if u < 3.0 {
            1.0
        } else {
            4.0 - u
        };
        for (got, want, name) in [(r[2], f1, "f1"), (r[3], f2, "f2"), (r[4], f3, "f3")] {
            assert!(
                (got - want).abs() <= 1e-5 * want.max(1.0),
                "{name}({u}) = {got}, want {want}"
            );
        }
        // The staircase, away from the thresholds where f32 and f64 may round differently.
        if (u - u.round()).abs() > 1e-4 {
            let s = u.floor().clamp(0.0, 3.0);
            assert_eq!(r[1], s, "s({u})");
            steps_seen[s as usize] = true;
        }
    }
    assert_eq!(steps_seen, [true; 4], "every step 0..=S_max is plotted");

    // Other parameters are honoured, bad ones refused.
    let out = mtsnn_in(
        tmp.path(),
        &[
            "plot",
            "surrogates",
            "--s-max",
            "15",
            "--v-th",
            "10",
            "--alpha-w",
            "20",
            "--out",
            "t1.png",
        ],
    );
    assert_ok(&out);
    assert_figure(&tmp.join("t1.png"), (1000, 400), "--s-max 15");
    let out = mtsnn_in(tmp.path(), &["plot", "surrogates", "--alpha-w", "0"]);
    assert_fails(&out, &["alpha"]);
}

/// A metrics.jsonl of `epochs` epochs whose accuracy rises from `start`.
fn write_metrics(dir: &Path, epochs: usize, start: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let lines: String = (1..=epochs)
        .map(|e| {
            let acc = start + 0.02 * e as f64;
            format!(
                "{{\"epoch\":{e},\"train_loss\":{},\"train_accuracy\":{},\"test_accuracy\":{acc},\
                 \"test_correct\":0,\"test_total\":1,\"elapsed_seconds\":{}}}\n",
                3.0 / e as f64,
                acc + 0.01,
                5 * e
            )
        })
        .collect();
    std::fs::write(dir.join("metrics.jsonl"), lines).unwrap();
}

#[test]
fn curves_of_several_runs() {
    let tmp = TempDir::new("plot-curves");
    write_metrics(&tmp.join("a"), 6, 0.7);
    write_metrics(&tmp.join("b"), 3, 0.6);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "plot", "curves", "a", "b/", "--labels", "f2,f3", "--out", "c.png",
        ],
    );
    assert_ok(&out);
    assert_figure(&tmp.join("c.png"), (1000, 400), "mtsnn plot curves a b/");

    let out = mtsnn_in(tmp.path(), &["plot", "curves", "a", "b", "--labels", "x"]);
    assert_fails(&out, &["--labels names 1 runs but 2"]);
    let out = mtsnn_in(tmp.path(), &["plot", "curves", "a", "missing"]);
    assert_fails(&out, &["missing", "metrics.jsonl"]);
    std::fs::write(tmp.join("a/metrics.jsonl"), "not json\n").unwrap();
    let out = mtsnn_in(tmp.path(), &["plot", "curves", "a"]);
    assert_fails(&out, &["line 1", "not a metrics line"]);
    let out = mtsnn_in(tmp.path(), &["plot", "sweep", "b"]);
    assert_fails(&out, &["no summary.json"]);
}

/// Runs that record each output neuron's firing share get a third panel, the least-firing neuron
/// per run (a dead class at 0 until it recovers); runs without the record keep the two panels.
#[test]
fn curves_show_the_least_firing_output_neuron_where_runs_record_it() {
    let tmp = TempDir::new("plot-firing");
    let dir = tmp.join("dying");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: String = (1..=4)
        .map(|e| {
            let least = if e == 1 { 0.0 } else { 0.1 };
            format!(
                "{{\"epoch\":{e},\"train_loss\":{},\"train_accuracy\":0.8,\"test_accuracy\":0.9,\
                 \"elapsed_seconds\":{e},\"output_firing\":[{least},0.2,0.3]}}\n",
                3.0 / f64::from(e)
            )
        })
        .collect();
    std::fs::write(dir.join("metrics.jsonl"), lines).unwrap();
    write_metrics(&tmp.join("old"), 4, 0.7);
    let width = |args: &[&str]| {
        assert_ok(&mtsnn_in(tmp.path(), args));
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(tmp.join("c.png")).unwrap(),
        ));
        decoder.read_info().unwrap().info().width
    };
    assert_eq!(
        width(&["plot", "curves", "dying", "old", "--out", "c.png"]),
        2000
    );
    assert_figure(
        &tmp.join("c.png"),
        (2000, 600),
        "mtsnn plot curves dying old",
    );
    assert_eq!(width(&["plot", "curves", "old", "--out", "c.png"]), 1400);
}
