//! The tiles of `shaders/gemm.wgsl`, the workgroup-tiled GEMM for hardware GPUs, and the choice
//! of GEMM kernel and tile per adapter ([`MatmulPath`]). Software adapters keep `matmul.wgsl`,
//! whose register tile `super::tile` sizes at build time.

/// One configuration of `shaders/gemm.wgsl`, the workgroup-tiled GEMM for hardware GPUs: a
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
            "gemm.wgsl tile {} ({}×{} invocations, {}×{} sums each, TK {})",
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

/// Which kernel computes the GEMMs, and with which tiles.
///
/// Chosen per adapter by [`MatmulPath::for_adapter`]; [`super::GpuContext::with_matmul_path`]
/// overrides it (the tests force every configuration on lavapipe, the GEMM benchmark compares
/// them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatmulPath {
    /// `shaders/matmul.wgsl`: the register tile fed straight from the storage buffers, no
    /// workgroup memory and no barrier. Fastest on software adapters, where each barrier switches
    /// between the coroutines that run a workgroup's invocations (lavapipe, Mesa 22.3, 2 cores:
    /// staging through workgroup memory ran about 3× slower).
    Direct,
    /// `shaders/gemm.wgsl` with, for each GEMM, the first (largest) of `tiles` whose grid has at
    /// least `fill` workgroups, else the last (smallest) of them.
    Tiled {
        /// Candidate tiles, largest first.
        tiles: Vec<GemmTile>,
        /// Workgroups a GEMM should have to keep the device busy.
        fill: usize,
    },
}

/// Workgroups that keep a discrete GPU busy: two or more per compute unit on the largest ones (an
/// H100 or H200 has 132 streaming multiprocessors). A guess, not a measurement.
const DISCRETE_FILL: usize = 256;
/// The same for integrated and other GPUs (tens of compute units at most).
const INTEGRATED_FILL: usize = 32;

impl MatmulPath {
    /// The path for an adapter:
    /// - software adapters (device type `Cpu`: lavapipe, SwiftShader, llvmpipe) → [`Self::Direct`]
    ///   (barriers are slow there; see above);
    /// - discrete GPUs → `gemm.wgsl` with every tile of [`GEMM_TILES`] that fits the limits,
    ///   `128x128` for GEMMs with at least 256 such tiles (e.g. 2048³), else `64x64` when that has
    ///   256 (1024³), else `32x32`;
    /// - integrated, virtual and other GPUs → `64x64` or `32x32` (16 sums per invocation: their
    ///   register files are smaller and their compute units fewer), filling 32 workgroups;
    /// - any adapter whose limits fit no tile (fewer than 64 invocations per workgroup or 4.3 KiB
    ///   of workgroup memory) → [`Self::Direct`], which needs 64 invocations and none.
    ///
    /// The thresholds are reasoned, not measured on hardware: `mtsnn bench --gemm` measures
    /// each configuration on a device (`--gemm-path`), and is where a choice should be revised.
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
            Self::Tiled { tiles, fill }
        }
    }

    /// `gemm.wgsl` with this one tile, whatever the GEMM's size.
    pub fn tiled(tile: GemmTile) -> Self {
        Self::Tiled {
            tiles: vec![tile],
            fill: 0,
        }
    }

    /// What computes C of `m` × `n`: the kernel and its tile, in words.
    pub fn describe(&self, m: usize, n: usize) -> String {
        match self.tile_for(m, n) {
            Some(tile) => tile.to_string(),
            None => format!(
                "matmul.wgsl direct (register tile {}×{}, {} invocations)",
                super::tile::TILE_U,
                super::tile::TILE_L,
                super::tile::TILE_LANES
            ),
        }
    }

    /// The tile for C of `m` × `n`, or `None` on the direct path.
    pub fn tile_for(&self, m: usize, n: usize) -> Option<GemmTile> {
        let Self::Tiled { tiles, fill } = self else {
            return None;
        };
        let grid = |t: &GemmTile| m.div_ceil(t.rows()) * n.div_ceil(t.cols());
        tiles
            .iter()
            .find(|t| grid(t) >= *fill)
            .or(tiles.last())
            .copied()
    }
}
