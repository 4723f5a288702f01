//! Fuzz checks shared by the libFuzzer targets and the workspace replay tests.
#![deny(unsafe_code)]

pub mod harness;
#[allow(unsafe_code)]
pub mod abi;
