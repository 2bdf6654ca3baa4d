//! The tiles of `shaders/gemm/gemm.wgsl` and `shaders/gemm/gemm_vec4.wgsl`, the workgroup-tiled
//! GEMMs for hardware GPUs, and the choice of GEMM kernel, tile and global loads per adapter
//! ([`MatmulPath`]). Software adapters keep `matmul.wgsl`, whose register tile `gpu/tile.rs`
//! sizes at build time.
//!
//! # Which adapter gets which GEMM, and why
//!
//! | adapter (wgpu device type)             | kernel        | tiles, per GEMM                    |
//! |----------------------------------------|---------------|------------------------------------|
//! | software (`Cpu`: lavapipe, SwiftShader)| `matmul.wgsl` | 16 × 256 register tile, no staging |
//! | discrete GPU                           | `gemm_vec4.wgsl` or `gemm.wgsl` | 128x128 if it makes ≥ 256 workgroups, else 64x64 if that does, else 32x32 |
//! | integrated, virtual, other GPU         | `gemm_vec4.wgsl` or `gemm.wgsl` | 64x64 if it makes ≥ 32 workgroups, else 32x32 |
//! | a GPU whose limits fit no tile         | `matmul.wgsl` | as software                        |
//!
//! On GPUs, a GEMM one of whose operands allows 16-byte loads ([`vec4_operands`]: its contiguous
//! dimension a multiple of 4) runs `gemm_vec4.wgsl`, which stages that operand a vec4 per load
//! and the other, if its rows do not allow it, a scalar per load; a GEMM where neither does runs
//! `gemm.wgsl` (scalar loads). Both stage the same values on the same tiles and add them in the
//! same order, so they give the same bits. The paper's layer widths (784, 400, 800, 1024, 300)
//! and batch·T = 256 are multiples of 4; only the 10-class output layer's backward GEMMs have one
//! operand (δ, 10 wide) loaded by scalars.
//!
//! The convolutions' forward pass and input gradient follow the same choice of tile: on a path
//! with tiles they run `conv_forward_tiled.wgsl` and `conv_input_grad_tiled.wgsl` (implicit GEMMs
//! on the same tile, `shaders/lib/gemm_tile.wgsl`), else the register-tile `conv_*.wgsl`. Their
//! gathered (im2col) operand is loaded by scalars; the forward pass's weights by 16-byte loads
//! with [`Loads::Vec4`] where a patch (in_ch·k·k) is whole vec4s: in the paper's networks only
//! the FashionMNIST net's second layer (32·5·5 = 800; MNIST's 15·5·5 = 375 and every first
//! layer's 25 are not). The input gradient reads its weights in runs of k·k, never whole vec4s.
//! Their weight gradient has one kernel on every adapter (`conv_weight_grad.wgsl`, on the
//! register tile), whose long inner sum hardware GPUs split across workgroups by chunks of images
//! (`WeightGradChunks` in `gpu/conv.rs`).
//!
//! Why these choices, and what has been measured of them: `docs/performance.md`.

use crate::gpu::shaders::Kernel;

/// One configuration of the workgroup-tiled GEMMs for hardware GPUs (`shaders/gemm/gemm.wgsl`,
/// `shaders/gemm/gemm_vec4.wgsl`, and the tiled convolutions): a
/// workgroup of `wg_x` × `wg_y` invocations computes a [`Self::rows`] × [`Self::cols`] tile of C,
/// each invocation a register block of 4·`rm4` rows × 4·`cn` columns, staging `tk` steps of the
/// inner dimension at a time in workgroup memory. Its fields are the shader's override constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GemmTile {
    /// A short name for reports, e.g. `64x64`.
    pub name: &'static str,
    /// Invocations along C's columns.
    pub wg_x: u32,
    /// Invocations along C's rows.
    pub wg_y: u32,
    /// Rows of an invocation's register block, in fours (1 or 2).
    pub rm4: u32,
    /// Columns of an invocation's register block, in fours (1 or 2).
    pub cn: u32,
    /// Steps of the inner dimension staged at a time.
    pub tk: u32,
}

/// The configurations shipped, largest tile first.
///
/// - `128x128`: 16 × 16 invocations with 8 × 8 sums each (64 registers of sums), TK 8 (8.4 KiB
///   staged). Per step 4 vec4 reads of workgroup memory feed 64 multiply-adds: the ratio fast
///   desktop GPUs need, and for large GEMMs the fewest loads from global memory.
/// - `64x64`: 16 × 16 invocations with 4 × 4 sums each, TK 16 (8.5 KiB): four times the
///   workgroups of `128x128` on the same C, for GEMMs too small to fill a big GPU with the former;
///   16 sums per invocation suit GPUs with smaller register files.
/// - `32x32`: 8 × 8 invocations with 4 × 4 sums each, TK 16 (4.3 KiB): TensorFlow.js's default
///   WebGPU matmul shape; 64 invocations, which every WebGPU device runs.
pub const GEMM_TILES: [GemmTile; 3] = [
    GemmTile {
        name: "128x128",
        wg_x: 16,
        wg_y: 16,
        rm4: 2,
        cn: 2,
        tk: 8,
    },
    GemmTile {
        name: "64x64",
        wg_x: 16,
        wg_y: 16,
        rm4: 1,
        cn: 1,
        tk: 16,
    },
    GemmTile {
        name: "32x32",
        wg_x: 8,
        wg_y: 8,
        rm4: 1,
        cn: 1,
        tk: 16,
    },
];

impl std::fmt::Display for GemmTile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tile {} ({}×{} invocations, {}×{} sums each, TK {})",
            self.name,
            self.wg_x,
            self.wg_y,
            4 * self.rm4,
            4 * self.cn,
            self.tk
        )
    }
}

impl GemmTile {
    /// Rows of C per workgroup.
    pub fn rows(&self) -> usize {
        (4 * self.rm4 * self.wg_y) as usize
    }

    /// Columns of C per workgroup.
    pub fn cols(&self) -> usize {
        (4 * self.cn * self.wg_x) as usize
    }

    /// Bytes of workgroup memory: the two staged blocks, TK rows of vec4s each, padded by one.
    pub fn workgroup_bytes(&self) -> u32 {
        let (bm4, bn4) = (self.rm4 * self.wg_y, self.cn * self.wg_x);
        16 * self.tk * (bm4 + 1 + bn4 + 1)
    }

    /// Whether a device with these limits runs it.
    pub fn fits(&self, limits: &wgpu::Limits) -> bool {
        self.wg_x <= limits.max_compute_workgroup_size_x
            && self.wg_y <= limits.max_compute_workgroup_size_y
            && self.wg_x * self.wg_y <= limits.max_compute_invocations_per_workgroup
            && self.workgroup_bytes() <= limits.max_compute_workgroup_storage_size
    }

    /// Its override constants (the transposes apart).
    pub fn constants(&self) -> [(&'static str, f64); 5] {
        [
            ("WG_X", f64::from(self.wg_x)),
            ("WG_Y", f64::from(self.wg_y)),
            ("RM4", f64::from(self.rm4)),
            ("CN", f64::from(self.cn)),
            ("TK", f64::from(self.tk)),
        ]
    }
}

/// How the tiled GEMM loads its operands from global memory into the workgroup tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loads {
    /// One f32 per load, whatever the shape: `gemm.wgsl`.
    Scalar,
    /// 16 bytes per load for each operand whose rows allow it ([`vec4_operands`]):
    /// `gemm_vec4.wgsl`; `gemm.wgsl` where neither operand's rows do. The same for the forward
    /// convolution's weights (`conv_forward_tiled.wgsl`) where a patch is whole vec4s.
    Vec4,
}

/// Which operands of C = op(A)·op(B) (C `m` × `n`, inner dimension `k`, the layouts of
/// [`super::matmul`]) can be staged by 16-byte loads, `[A, B]`: those whose contiguous
/// dimension (k for A, m for Aᵀ; n for B, k for Bᵀ) is a multiple of 4. Every row of such an
/// operand then starts on 16 bytes (the launcher binds whole buffers, from offset 0, and
/// [`crate::gpu::GpuTensor`]s are padded to 16 bytes) and no vec4 straddles two rows.
pub fn vec4_operands(m: usize, n: usize, k: usize, a_t: bool, b_t: bool) -> [bool; 2] {
    let whole = |d: usize| d.is_multiple_of(4);
    [
        whole(if a_t { m } else { k }),
        whole(if b_t { k } else { n }),
    ]
}

/// One tiled GEMM launch: the tile, and which operands `[A, B]` are staged by 16-byte loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TiledGemm {
    /// The workgroup tile.
    pub tile: GemmTile,
    /// A and B staged a vec4 per load (`gemm_vec4.wgsl`); neither: `gemm.wgsl`.
    pub vec4: [bool; 2],
}

impl TiledGemm {
    /// The kernel: `gemm_vec4.wgsl` when an operand is loaded as vec4, else `gemm.wgsl`.
    pub fn kernel(&self) -> Kernel {
        if self.vec4.contains(&true) {
            Kernel::GemmVec4
        } else {
            Kernel::Gemm
        }
    }

    /// Its override constants apart from the transposes: the tile's, and `gemm_vec4.wgsl`'s
    /// VEC_A and VEC_B.
    pub fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut constants = self.tile.constants().to_vec();
        if self.kernel() == Kernel::GemmVec4 {
            let [a, b] = self.vec4.map(|v| f64::from(u8::from(v)));
            constants.extend([("VEC_A", a), ("VEC_B", b)]);
        }
        constants
    }
}

impl std::fmt::Display for TiledGemm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loads = match self.vec4 {
            [true, true] => "16-byte loads of A and B",
            [true, false] => "16-byte loads of A, scalar of B",
            [false, true] => "16-byte loads of B, scalar of A",
            [false, false] => "scalar loads",
        };
        write!(f, "{} {}, {loads}", self.kernel().file_name(), self.tile)
    }
}

/// Which kernel computes the GEMMs, and with which tiles.
///
/// Chosen per adapter by [`MatmulPath::for_adapter`]; [`crate::gpu::GpuContext::with_matmul_path`]
/// overrides it (the tests force every configuration on lavapipe, the GEMM benchmark compares
/// them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatmulPath {
    /// `shaders/gemm/matmul.wgsl`: the register tile fed straight from the storage buffers, no
    /// workgroup memory and no barrier. Fastest on software adapters, where each barrier switches
    /// between the coroutines that run a workgroup's invocations (lavapipe, Mesa 22.3, 2 cores:
    /// staging through workgroup memory ran about 3× slower).
    Direct,
    /// `shaders/gemm/gemm.wgsl` or `shaders/gemm/gemm_vec4.wgsl` (as `loads` and the shape say) with, for
    /// each GEMM, the first (largest) of `tiles` whose grid has at least `fill` workgroups, else
    /// the last (smallest) of them.
    Tiled {
        /// Candidate tiles, largest first.
        tiles: Vec<GemmTile>,
        /// Workgroups a GEMM should have to keep the device busy.
        fill: usize,
        /// How operands are loaded into the tiles.
        loads: Loads,
    },
}

/// Workgroups that keep a discrete GPU busy: two or more per compute unit on the largest ones (an
/// H100 or H200 has 132 streaming multiprocessors). A guess, not a measurement.
pub(in crate::gpu) const DISCRETE_FILL: usize = 256;
/// The same for integrated and other GPUs (tens of compute units at most).
pub(in crate::gpu) const INTEGRATED_FILL: usize = 32;

impl MatmulPath {
    /// The path for an adapter, as the module's table says: [`Self::Direct`] on software
    /// adapters and where no tile fits the limits; else the tiled GEMMs with vec4 loads where
    /// the shapes allow ([`Loads::Vec4`]) and every tile of [`GEMM_TILES`] that fits (discrete
    /// GPUs) or the two with 4×4 register blocks (other GPUs).
    pub fn for_adapter(info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> Self {
        let (candidates, fill) = match info.device_type {
            wgpu::DeviceType::Cpu => return Self::Direct,
            wgpu::DeviceType::DiscreteGpu => (&GEMM_TILES[..], DISCRETE_FILL),
            _ => (&GEMM_TILES[1..], INTEGRATED_FILL),
        };
        let tiles: Vec<GemmTile> = candidates
            .iter()
            .filter(|t| t.fits(limits))
            .copied()
            .collect();
        if tiles.is_empty() {
            Self::Direct
        } else {
            Self::Tiled {
                tiles,
                fill,
                loads: Loads::Vec4,
            }
        }
    }

    /// The tiled GEMMs with this one tile, whatever the GEMM's size, and these loads.
    pub fn tiled(tile: GemmTile, loads: Loads) -> Self {
        Self::Tiled {
            tiles: vec![tile],
            fill: 0,
            loads,
        }
    }

    /// What computes C = op(A)·op(B) of `m` × `n` with inner dimension `k`: the kernel, its tile
    /// and its loads, in words.
    pub fn describe(&self, m: usize, n: usize, k: usize, a_t: bool, b_t: bool) -> String {
        match self.gemm_for(m, n, k, a_t, b_t) {
            Some(gemm) => gemm.to_string(),
            None => self.to_string(),
        }
    }

    /// How the tiles load their operands; `None` on the direct path.
    pub fn loads(&self) -> Option<Loads> {
        match self {
            Self::Direct => None,
            Self::Tiled { loads, .. } => Some(*loads),
        }
    }

    /// The tile for C of `m` × `n`, or `None` on the direct path.
    pub fn tile_for(&self, m: usize, n: usize) -> Option<GemmTile> {
        let Self::Tiled { tiles, fill, .. } = self else {
            return None;
        };
        let grid = |t: &GemmTile| m.div_ceil(t.rows()) * n.div_ceil(t.cols());
        tiles
            .iter()
            .find(|t| grid(t) >= *fill)
            .or(tiles.last())
            .copied()
    }

    /// The tiled launch of C = op(A)·op(B) (C `m` × `n`, inner dimension `k`, the transposes of
    /// [`super::matmul`]): its tile ([`Self::tile_for`]) and, with [`Loads::Vec4`], the
    /// operands [`vec4_operands`] allows; `None` on the direct path.
    pub fn gemm_for(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a_t: bool,
        b_t: bool,
    ) -> Option<TiledGemm> {
        let Self::Tiled { loads, .. } = self else {
            return None;
        };
        let vec4 = match loads {
            Loads::Scalar => [false, false],
            Loads::Vec4 => vec4_operands(m, n, k, a_t, b_t),
        };
        Some(TiledGemm {
            tile: self.tile_for(m, n)?,
            vec4,
        })
    }
}

impl std::fmt::Display for MatmulPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct => write!(
                f,
                "matmul.wgsl direct (register tile {}×{}, {} invocations)",
                crate::gpu::tile::TILE_U,
                crate::gpu::tile::TILE_L,
                crate::gpu::tile::TILE_LANES
            ),
            Self::Tiled { tiles, loads, .. } => {
                let names: Vec<&str> = tiles.iter().map(|t| t.name).collect();
                let loads = match loads {
                    Loads::Scalar => "gemm.wgsl, scalar loads",
                    Loads::Vec4 => {
                        "gemm_vec4.wgsl where the rows allow 16-byte loads, else gemm.wgsl"
                    }
                };
                write!(f, "tiles {} ({loads})", names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan)
    }

    #[test]
    fn every_tile_fits_webgpus_default_limits_and_is_whole() {
        let limits = wgpu::Limits::default();
        for t in GEMM_TILES {
            assert!(t.fits(&limits), "{t}");
            assert!(t.workgroup_bytes() <= 16384, "{t}");
            assert!(
                matches!((t.rm4, t.cn), (1 | 2, 1 | 2)),
                "{t}: the shader's sums"
            );
            // gemm_vec4.wgsl stages whole vec4s along k: no vec4 may straddle two slices.
            assert!(t.tk.is_multiple_of(4), "{t}: TK");
        }
        assert_eq!(
            GEMM_TILES.map(|t| (t.rows(), t.cols())),
            [(128, 128), (64, 64), (32, 32)]
        );
    }

    #[test]
    fn each_adapter_kind_gets_its_tiles_and_each_shape_its_tile() {
        let limits = wgpu::Limits::default();
        let cpu = MatmulPath::for_adapter(&adapter(wgpu::DeviceType::Cpu), &limits);
        assert_eq!(cpu, MatmulPath::Direct);
        assert_eq!(cpu.tile_for(1024, 1024), None);

        let discrete = MatmulPath::for_adapter(&adapter(wgpu::DeviceType::DiscreteGpu), &limits);
        let name = |m, n| discrete.tile_for(m, n).map(|t| t.name);
        assert_eq!(name(4096, 4096), Some("128x128"));
        assert_eq!(name(2048, 2048), Some("128x128"));
        assert_eq!(name(1024, 1024), Some("64x64"));
        assert_eq!(name(256, 400), Some("32x32"));
        assert_eq!(name(0, 7), Some("32x32"));

        let integrated =
            MatmulPath::for_adapter(&adapter(wgpu::DeviceType::IntegratedGpu), &limits);
        let name = |m, n| integrated.tile_for(m, n).map(|t| t.name);
        assert_eq!(name(4096, 4096), Some("64x64"));
        assert_eq!(name(512, 512), Some("64x64"));
        assert_eq!(name(256, 400), Some("32x32"));

        // Only 64 invocations: the 32x32 tile alone; less workgroup memory than it needs: none.
        let small = wgpu::Limits {
            max_compute_invocations_per_workgroup: 64,
            ..limits.clone()
        };
        let path = MatmulPath::for_adapter(&adapter(wgpu::DeviceType::DiscreteGpu), &small);
        assert_eq!(
            path,
            MatmulPath::Tiled {
                tiles: vec![GEMM_TILES[2]],
                fill: DISCRETE_FILL,
                loads: Loads::Vec4,
            }
        );
        let tiny = wgpu::Limits {
            max_compute_workgroup_storage_size: 4096,
            ..limits
        };
        let path = MatmulPath::for_adapter(&adapter(wgpu::DeviceType::DiscreteGpu), &tiny);
        assert_eq!(path, MatmulPath::Direct);
    }

    /// The paper MLP's GEMMs (784-400-400-10, batch·T = 256 rows; W `[outputs][inputs]`, as the
    /// schedule lays them out): vec4 loads everywhere except the 10-wide δ of the output layer's
    /// backward GEMMs, which falls back to scalar loads.
    #[test]
    fn vec4_loads_where_the_rows_allow_and_scalar_elsewhere() {
        let rows = 256;
        for (inputs, outputs, want_fwd, want_back) in [
            (784, 400, [true, true], [true, true]),
            (400, 400, [true, true], [true, true]),
            (400, 10, [true, true], [false, true]),
        ] {
            let what = format!("{inputs}→{outputs}");
            // Forward, eq 3: I = S·Wᵀ.
            let fwd = vec4_operands(rows, outputs, inputs, false, true);
            assert_eq!(fwd, want_fwd, "{what} forward");
            // Eq 13's weight gradient δᵀ·S and eq 9's δ·W.
            let wgrad = vec4_operands(outputs, inputs, rows, true, false);
            let igrad = vec4_operands(rows, inputs, outputs, false, false);
            assert_eq!(wgrad, want_back, "{what} weight gradient");
            assert_eq!(igrad, want_back, "{what} input gradient");
        }
        // Each operand by its own contiguous dimension: k for A and Bᵀ, m for Aᵀ, n for B.
        assert_eq!(vec4_operands(3, 5, 8, false, true), [true, true]);
        assert_eq!(vec4_operands(3, 5, 8, true, false), [false, false]);
        assert_eq!(vec4_operands(8, 4, 3, true, false), [true, true]);
        assert_eq!(vec4_operands(8, 4, 3, false, true), [false, false]);

        let gpu = MatmulPath::for_adapter(
            &adapter(wgpu::DeviceType::DiscreteGpu),
            &wgpu::Limits::default(),
        );
        let launch = |m, n, k, a_t, b_t| gpu.gemm_for(m, n, k, a_t, b_t).unwrap();
        assert_eq!(
            launch(256, 400, 784, false, true).kernel(),
            Kernel::GemmVec4
        );
        assert_eq!(launch(256, 10, 400, false, true).kernel(), Kernel::GemmVec4);
        assert_eq!(launch(256, 400, 10, false, false).vec4, [false, true]);
        // Neither operand whole: the scalar kernel, which has no VEC_A or VEC_B.
        let ragged = launch(7, 9, 10, false, false);
        assert_eq!(
            (ragged.kernel(), ragged.vec4),
            (Kernel::Gemm, [false, false])
        );
        assert!(
            ragged
                .constants()
                .iter()
                .all(|(name, _)| !name.starts_with("VEC"))
        );
        assert!(
            launch(4, 8, 12, true, false)
                .constants()
                .contains(&("VEC_A", 1.0))
        );
        // Forced scalar loads: gemm.wgsl whatever the shape; the direct path has no launch.
        let scalar = MatmulPath::tiled(GEMM_TILES[1], Loads::Scalar);
        let g = scalar.gemm_for(256, 400, 784, false, true).unwrap();
        assert_eq!((g.kernel(), g.tile.name), (Kernel::Gemm, "64x64"));
        assert_eq!(
            MatmulPath::Direct.gemm_for(256, 400, 784, false, true),
            None
        );
    }
}
