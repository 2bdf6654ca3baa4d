//! `model.drawSpikes`: one inference's spikes as a picture on a canvas the page passes, through
//! `web-sys` — a heat map per hidden layer and time step (a cell per neuron, or per channel of a
//! convolution), then one bar per class whose coloured segments are the output spikes of each step.
//!
//! The layout and the pixels of the heat maps are plain Rust ([`Layout::new`], [`heat_rgba`]);
//! [`draw`] only hands them to the canvas.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData, OffscreenCanvas};

use crate::error::WebError;
use crate::outcome::LayerInfo;

/// Stops of the "inferno" colour map, from 0 to 1 (as the demo's legend).
const RAMP: [[f64; 3]; 6] = [
    [0.0, 0.0, 4.0],
    [66.0, 10.0, 104.0],
    [147.0, 38.0, 103.0],
    [221.0, 81.0, 58.0],
    [252.0, 165.0, 10.0],
    [252.0, 255.0, 164.0],
];
/// Colours of the time steps' bar segments, repeated beyond four steps.
const STEP_COLOURS: [&str; 4] = ["#4cc9f0", "#f72585", "#7ae582", "#b388ff"];
/// The empty part of a bar.
const TRACK: &str = "#11151b";
/// Text, and the winning class's name.
const MUTED: &str = "#8b94a5";
const ACCENT: &str = "#ffb347";
/// Pixels between a layer's step maps, between layers, and between the maps and the bars.
const STEP_GAP: u32 = 8;
const LAYER_GAP: u32 = 18;
/// Height of a line of text, of a bar, and the distance from one bar to the next.
const LINE: u32 = 18;
const BAR: u32 = 14;
const BAR_PITCH: u32 = 17;

/// RGB of `x` in 0..1 on the colour ramp.
pub fn ramp(x: f64) -> [u8; 3] {
    let t = x.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64;
    let i = (t.floor() as usize).min(RAMP.len() - 2);
    let f = t - i as f64;
    std::array::from_fn(|k| (RAMP[i][k] + f * (RAMP[i + 1][k] - RAMP[i][k])).round() as u8)
}

/// Cells per row and rows of a layer's grid: as square as possible.
pub fn grid(units: usize) -> (u32, u32) {
    let cols = (units as f64).sqrt().ceil().max(1.0) as u32;
    (cols, (units as u32).div_ceil(cols))
}

/// What `drawSpikes` may be told (the `DrawOptions` of the TypeScript types).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Draw the hidden layers' heat maps.
    pub layers: bool,
    /// Draw the output bars.
    pub output: bool,
    /// Pixels per cell of the heat maps; `None`: about 240 pixels per map.
    pub cell: Option<u32>,
    /// Length of a full bar (every output neuron's S_max spikes in every step).
    pub bar_width: u32,
    /// Captions, class names and counts as text.
    pub text: bool,
    /// The CSS font of the text.
    pub font: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            layers: true,
            output: true,
            cell: None,
            bar_width: 240,
            text: true,
            font: "13px sans-serif".into(),
        }
    }
}

impl Options {
    /// Reads an options object (`undefined` or `null`: the defaults).
    pub fn from_js(o: &JsValue) -> Result<Self, WebError> {
        let mut opts = Self::default();
        if o.is_undefined() || o.is_null() {
            return Ok(opts);
        }
        let get = |key: &str| {
            Reflect::get(o, &key.into())
                .ok()
                .filter(|v| !v.is_undefined())
        };
        let bad = |what: &str| WebError::Option(what.into());
        if let Some(v) = get("parts") {
            match v.as_string().as_deref() {
                Some("all") => {}
                Some("layers") => opts.output = false,
                Some("output") => opts.layers = false,
                _ => return Err(bad("parts must be \"all\", \"layers\" or \"output\"")),
            }
        }
        let pixels = |v: JsValue, what: &str| {
            v.as_f64()
                .filter(|&x| x.fract() == 0.0 && (1.0..=4096.0).contains(&x))
                .map(|x| x as u32)
                .ok_or_else(|| {
                    bad(&format!(
                        "{what} must be a whole number of pixels in 1..4096"
                    ))
                })
        };
        if let Some(v) = get("cell") {
            opts.cell = Some(pixels(v, "cell")?);
        }
        if let Some(v) = get("barWidth") {
            opts.bar_width = pixels(v, "barWidth")?;
        }
        if let Some(v) = get("text") {
            opts.text = v
                .as_bool()
                .ok_or_else(|| bad("text must be true or false"))?;
        }
        if let Some(v) = get("font") {
            opts.font = v.as_string().ok_or_else(|| bad("font must be a string"))?;
        }
        Ok(opts)
    }
}

/// The spike counts of an `InferResult`, checked against the model's layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Spikes {
    /// Predicted class.
    pub label: usize,
    /// `[step][class]`.
    pub output: Vec<Vec<u32>>,
    /// Hidden layers only: `[layer][step][unit]`.
    pub hidden: Vec<Vec<Vec<u32>>>,
}

impl Spikes {
    /// Checks counts read from a result against the model's `infos` (output layer last) and
    /// time `steps`.
    pub fn new(
        label: usize,
        output: Vec<Vec<u32>>,
        mut layers: Vec<Vec<Vec<u32>>>,
        infos: &[LayerInfo],
        steps: usize,
    ) -> Result<Self, WebError> {
        let units: Vec<Vec<usize>> = layers
            .iter()
            .map(|l| l.iter().map(Vec::len).collect())
            .collect();
        let expected: Vec<Vec<usize>> = infos.iter().map(|i| vec![i.units; steps]).collect();
        let classes = infos.last().map_or(0, |i| i.units);
        let output_shape: Vec<usize> = output.iter().map(Vec::len).collect();
        if units != expected || output_shape != vec![classes; steps] || label >= classes {
            return Err(WebError::Input(
                "the result is not an answer of this model's infer".into(),
            ));
        }
        layers.pop();
        Ok(Self {
            label,
            output,
            hidden: layers,
        })
    }

    /// Reads `result.label`, `.outputCounts` and `.layerCounts` (arrays of numbers or typed
    /// arrays, as `infer` makes them).
    pub fn from_js(result: &JsValue, infos: &[LayerInfo], steps: usize) -> Result<Self, WebError> {
        let bad = || WebError::Input("the result is not an answer of this model's infer".into());
        let field = |key: &str| Reflect::get(result, &key.into()).map_err(|_| bad());
        let numbers = |v: &JsValue| -> Result<Vec<u32>, WebError> {
            Array::from(v)
                .iter()
                .map(|x| x.as_f64().map(|x| x as u32).ok_or_else(bad))
                .collect()
        };
        let per_step = |v: &JsValue| -> Result<Vec<Vec<u32>>, WebError> {
            Array::from(v).iter().map(|s| numbers(&s)).collect()
        };
        let label = field("label")?.as_f64().ok_or_else(bad)? as usize;
        let output = per_step(&field("outputCounts")?)?;
        let layers = Array::from(&field("layerCounts")?)
            .iter()
            .map(|l| per_step(&l))
            .collect::<Result<_, _>>()?;
        Self::new(label, output, layers, infos, steps)
    }
}

/// Where one hidden layer's heat maps lie.
#[derive(Clone, Debug, PartialEq)]
pub struct MapPlace {
    /// Top left corner of each step's map.
    pub steps: Vec<(u32, u32)>,
    pub cols: u32,
    pub rows: u32,
    /// Pixels per cell; cell `i` lies at `(i % cols, i / cols)` cells from the corner.
    pub cell: u32,
    /// Where the caption starts (its baseline is at the top of the maps).
    pub caption: (u32, u32),
}

/// Where the output bars lie: bar `c` spans `x .. x + width`, `y + c·pitch .. + height`.
#[derive(Clone, Debug, PartialEq)]
pub struct BarsPlace {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub pitch: u32,
    /// Where the counts' text starts.
    pub count_x: u32,
}

/// The whole picture's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub layers: Vec<MapPlace>,
    pub bars: Option<BarsPlace>,
}

impl Layout {
    /// Lays out the picture of `hidden` layers (their `LayerInfo`s) and `classes` bars over
    /// `steps`. `caption_widths[l]`, `name_width` and `count_width` are the text's widths in pixels
    /// (zero without text).
    pub fn new(
        hidden: &[LayerInfo],
        steps: u32,
        classes: u32,
        opts: &Options,
        caption_widths: &[u32],
        name_width: u32,
        count_width: u32,
    ) -> Self {
        let caption_h = if opts.text { LINE } else { 0 };
        let (mut width, mut height) = (0, 0);
        let mut layers = Vec::new();
        if opts.layers {
            let mut x = 0;
            for (info, &caption_w) in hidden.iter().zip(caption_widths) {
                if x > 0 {
                    x += LAYER_GAP;
                }
                let (cols, rows) = grid(info.units);
                let cell = opts.cell.unwrap_or_else(|| (240 / cols.max(rows)).max(2));
                let place = MapPlace {
                    steps: (0..steps)
                        .map(|t| (x + t * (cols * cell + STEP_GAP), caption_h))
                        .collect(),
                    cols,
                    rows,
                    cell,
                    caption: (x, caption_h.saturating_sub(5)),
                };
                x += (steps * (cols * cell + STEP_GAP) - STEP_GAP).max(caption_w);
                height = height.max(caption_h + rows * cell);
                layers.push(place);
            }
            width = x;
        }
        let bars = opts.output.then(|| {
            let y = if height > 0 { height + LAYER_GAP } else { 0 };
            let gap = if opts.text { 8 } else { 0 };
            let x = if name_width > 0 { name_width + gap } else { 0 };
            let place = BarsPlace {
                x,
                y,
                width: opts.bar_width,
                height: BAR,
                pitch: BAR_PITCH,
                count_x: x + opts.bar_width + gap,
            };
            width = width.max(place.count_x + count_width);
            height = y + classes.saturating_sub(1) * BAR_PITCH + BAR;
            place
        });
        Self {
            width: width.max(1),
            height: height.max(1),
            layers,
            bars,
        }
    }

    /// The `SpikeLayout` object `drawSpikes` returns.
    fn to_js(&self) -> Result<JsValue, WebError> {
        let o = Object::new();
        let set = |o: &Object, k: &str, v: JsValue| {
            Reflect::set(o, &k.into(), &v)
                .map(|_| ())
                .map_err(|_| WebError::Input("internal: cannot build the layout".into()))
        };
        set(&o, "width", self.width.into())?;
        set(&o, "height", self.height.into())?;
        let layers = Array::new();
        for l in &self.layers {
            let p = Object::new();
            let steps: Array = l
                .steps
                .iter()
                .map(|&(x, y)| Array::of2(&x.into(), &y.into()))
                .collect();
            set(&p, "steps", steps.into())?;
            set(&p, "cols", l.cols.into())?;
            set(&p, "rows", l.rows.into())?;
            set(&p, "cell", l.cell.into())?;
            layers.push(&p);
        }
        set(&o, "layers", layers.into())?;
        if let Some(b) = &self.bars {
            let p = Object::new();
            for (k, v) in [
                ("x", b.x),
                ("y", b.y),
                ("width", b.width),
                ("height", b.height),
                ("pitch", b.pitch),
            ] {
                set(&p, k, v.into())?;
            }
            set(&o, "bars", p.into())?;
        }
        Ok(o.into())
    }
}

/// RGBA pixels of one step's heat map: `counts` per cell, `max` the most a cell can have; the
/// colour is the ramp at √(count / max) (most neurons fire a few times, a few fire often). Cells
/// past the last unit stay transparent.
pub fn heat_rgba(counts: &[u32], max: f64, place: &MapPlace) -> Vec<u8> {
    let (w, h) = (place.cols * place.cell, place.rows * place.cell);
    let mut px = vec![0u8; (w * h * 4) as usize];
    for (i, &n) in counts.iter().enumerate() {
        let [r, g, b] = ramp((f64::from(n) / max).sqrt());
        let (cx, cy) = (i as u32 % place.cols, i as u32 / place.cols);
        for y in cy * place.cell..(cy + 1) * place.cell {
            for x in cx * place.cell..(cx + 1) * place.cell {
                let at = ((y * w + x) * 4) as usize;
                px[at..at + 4].copy_from_slice(&[r, g, b, 255]);
            }
        }
    }
    px
}

/// Draws `spikes` onto `canvas` (an `HTMLCanvasElement` or an `OffscreenCanvas`), which it
/// resizes to the picture; returns the `SpikeLayout`.
pub fn draw(
    canvas: &JsValue,
    spikes: &Spikes,
    infos: &[LayerInfo],
    class_names: &[String],
    s_max: u32,
    opts: &Options,
) -> Result<JsValue, WebError> {
    let not_canvas =
        || WebError::Input("canvas must be an HTMLCanvasElement or OffscreenCanvas".into());
    // Both kinds of canvas (and their 2D contexts) have the members used here; web-sys calls
    // them by name, so the element's bindings serve the offscreen canvas too.
    if !canvas.is_instance_of::<HtmlCanvasElement>() && !canvas.is_instance_of::<OffscreenCanvas>()
    {
        return Err(not_canvas());
    }
    let canvas: &HtmlCanvasElement = canvas.unchecked_ref();
    let context = || -> Result<CanvasRenderingContext2d, WebError> {
        let ctx = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .ok_or_else(|| {
                WebError::Input("the canvas has no 2D context (is it used for WebGPU?)".into())
            })?
            .unchecked_into::<CanvasRenderingContext2d>();
        ctx.set_font(&opts.font);
        Ok(ctx)
    };
    let ctx = context()?;
    let steps = spikes.output.len();
    let hidden = &infos[..infos.len() - 1];
    let captions: Vec<String> = hidden
        .iter()
        .zip(&spikes.hidden)
        .enumerate()
        .map(|(l, (info, counts))| caption(l, info, counts))
        .collect();
    let totals: Vec<String> = (0..class_names.len())
        .map(|c| {
            let per_step: Vec<u32> = spikes.output.iter().map(|s| s[c]).collect();
            let parts: Vec<String> = per_step.iter().map(u32::to_string).collect();
            format!("{} = {}", parts.join(" + "), per_step.iter().sum::<u32>())
        })
        .collect();
    let widest = |texts: &[String]| -> Vec<u32> {
        texts
            .iter()
            .map(|t| {
                if opts.text {
                    ctx.measure_text(t).map_or(0.0, |m| m.width()).ceil() as u32
                } else {
                    0
                }
            })
            .collect()
    };
    let max_of = |v: Vec<u32>| v.into_iter().max().unwrap_or(0);
    let layout = Layout::new(
        hidden,
        steps as u32,
        class_names.len() as u32,
        opts,
        &widest(&captions),
        max_of(widest(class_names)),
        max_of(widest(&totals)),
    );
    // Resizing clears the canvas and resets its context's state.
    canvas.set_width(layout.width);
    canvas.set_height(layout.height);
    let ctx = context()?;
    ctx.set_text_baseline("alphabetic");
    let failed = |_| WebError::Input("the canvas refused the picture".into());
    for ((place, info), (counts, text)) in layout
        .layers
        .iter()
        .zip(hidden)
        .zip(spikes.hidden.iter().zip(&captions))
    {
        // Convolutions report spikes summed over the map: scale the ramp to its size.
        let max = f64::from(s_max) * (info.shape[1] * info.shape[2]) as f64;
        for (step, &(x, y)) in counts.iter().zip(&place.steps) {
            let px = heat_rgba(step, max, place);
            let image = ImageData::new_with_u8_clamped_array_and_sh(
                Clamped(&px),
                place.cols * place.cell,
                place.rows * place.cell,
            )
            .map_err(failed)?;
            ctx.put_image_data(&image, x.into(), y.into())
                .map_err(failed)?;
        }
        if opts.text {
            ctx.set_fill_style_str(MUTED);
            let (x, y) = place.caption;
            ctx.fill_text(text, x.into(), y.into()).map_err(failed)?;
        }
    }
    if let Some(bars) = &layout.bars {
        let full = f64::from(s_max) * steps as f64;
        for (c, (name, total)) in class_names.iter().zip(&totals).enumerate() {
            let y = f64::from(bars.y + c as u32 * bars.pitch);
            let (h, w) = (f64::from(bars.height), f64::from(bars.width));
            ctx.set_fill_style_str(TRACK);
            ctx.fill_rect(bars.x.into(), y, w, h);
            let mut x = f64::from(bars.x);
            for (t, step) in spikes.output.iter().enumerate() {
                let len = w * f64::from(step[c]) / full;
                ctx.set_fill_style_str(STEP_COLOURS[t % STEP_COLOURS.len()]);
                ctx.fill_rect(x, y, len, h);
                x += len;
            }
            if opts.text {
                let baseline = y + h - 2.0;
                ctx.set_fill_style_str(if c == spikes.label { ACCENT } else { MUTED });
                ctx.fill_text(name, 0.0, baseline).map_err(failed)?;
                ctx.set_fill_style_str(MUTED);
                ctx.fill_text(total, bars.count_x.into(), baseline)
                    .map_err(failed)?;
            }
        }
    }
    layout.to_js()
}

/// "Layer 1: 800 neurons — 312 + 280 spikes".
fn caption(l: usize, info: &LayerInfo, counts: &[Vec<u32>]) -> String {
    let what = match info.kind {
        "conv" => format!("{} channels", info.units),
        _ => format!("{} neurons", info.units),
    };
    let per_step: Vec<String> = counts
        .iter()
        .map(|s| s.iter().sum::<u32>().to_string())
        .collect();
    format!("Layer {}: {what} — {} spikes", l + 1, per_step.join(" + "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(units: usize) -> LayerInfo {
        LayerInfo {
            kind: "dense",
            shape: [units, 1, 1],
            units,
        }
    }

    #[test]
    fn the_ramp_runs_from_near_black_to_pale_yellow() {
        assert_eq!(ramp(0.0), [0, 0, 4]);
        assert_eq!(ramp(1.0), [252, 255, 164]);
        assert_eq!(ramp(-1.0), ramp(0.0));
        assert_eq!(ramp(0.1), [33, 5, 54]);
    }

    #[test]
    fn grids_are_as_square_as_possible() {
        assert_eq!(grid(800), (29, 28));
        assert_eq!(grid(400), (20, 20));
        assert_eq!(grid(10), (4, 3));
        assert_eq!(grid(1), (1, 1));
    }

    #[test]
    fn layers_sit_side_by_side_and_bars_below() {
        let hidden = [dense(800), dense(4)];
        let layout = Layout::new(&hidden, 2, 10, &Options::default(), &[500, 10], 30, 50);
        // 800 neurons: 29×28 cells of 8 px; two steps 8 px apart.
        assert_eq!(layout.layers[0].steps, vec![(0, 18), (240, 18)]);
        assert_eq!((layout.layers[0].cols, layout.layers[0].cell), (29, 8));
        // The caption (500 px) is wider than the maps (472 px): the next layer starts after it.
        assert_eq!(layout.layers[1].steps[0], (518, 18));
        assert_eq!(layout.layers[1].cell, 120);
        let bars = layout.bars.as_ref().unwrap();
        assert_eq!(
            (bars.x, bars.y, bars.count_x),
            (38, 18 + 240 + 18, 38 + 240 + 8)
        );
        assert_eq!(layout.height, bars.y + 9 * 17 + 14);
        assert_eq!(layout.width, 518 + 2 * 240 + 8);
    }

    #[test]
    fn parts_and_cells_follow_the_options() {
        let opts = Options {
            layers: false,
            text: false,
            ..Options::default()
        };
        let layout = Layout::new(&[dense(9)], 2, 3, &opts, &[0], 0, 0);
        assert!(layout.layers.is_empty());
        let bars = layout.bars.unwrap();
        assert_eq!((bars.x, bars.y), (0, 0));
        assert_eq!((layout.width, layout.height), (240, 2 * 17 + 14));
        let opts = Options {
            output: false,
            cell: Some(3),
            text: false,
            ..Options::default()
        };
        let layout = Layout::new(&[dense(9)], 2, 3, &opts, &[0], 0, 0);
        assert_eq!(layout.layers[0].steps, vec![(0, 0), (17, 0)]);
        assert_eq!((layout.width, layout.height), (26, 9));
        assert!(layout.bars.is_none());
    }

    #[test]
    fn heat_maps_colour_each_cell_by_its_count() {
        let place = MapPlace {
            steps: vec![(0, 0)],
            cols: 2,
            rows: 2,
            cell: 2,
            caption: (0, 0),
        };
        let px = heat_rgba(&[0, 4, 1], 4.0, &place);
        let at = |x: usize, y: usize| &px[(y * 4 + x) * 4..(y * 4 + x) * 4 + 4];
        assert_eq!(at(1, 1), [0, 0, 4, 255]);
        assert_eq!(at(2, 0), [252, 255, 164, 255]);
        assert_eq!(at(3, 1), [252, 255, 164, 255]);
        assert_eq!(at(0, 2), [184, 60, 81, 255]); // √(1/4): halfway up the ramp
        assert_eq!(at(3, 3), [0, 0, 0, 0]); // no fourth unit
    }

    #[test]
    fn results_of_another_model_are_refused() {
        let infos = [dense(3), dense(2)];
        let output = vec![vec![1, 0], vec![0, 2]];
        let layers = vec![vec![vec![0, 1, 3], vec![2, 0, 0]], output.clone()];
        let s = Spikes::new(1, output.clone(), layers.clone(), &infos, 2).unwrap();
        assert_eq!(s.hidden, vec![vec![vec![0, 1, 3], vec![2, 0, 0]]]);
        assert!(Spikes::new(1, output.clone(), layers.clone(), &infos, 3).is_err());
        assert!(Spikes::new(2, output.clone(), layers.clone(), &infos, 2).is_err());
        assert!(Spikes::new(1, output, layers, &[dense(4), dense(2)], 2).is_err());
    }
}
