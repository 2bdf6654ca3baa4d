//! Helpers shared by the workspace tests.

pub mod compare;
pub mod gpu;
pub mod kernel;
pub mod lockstep;
pub mod params;
