//! Peak int8 multiply-add throughput of the instruction mixes of the network's GEMM kernels
//! (`crates/nelloc/src/kernels/avx2.rs`), to judge how close the network gets to the silicon.
//!
//! ```sh
//! cargo run --release -p nelloc --example int8_peak            # ~15 s
//! cargo run --release -p nelloc --example int8_peak -- 0.1     # seconds per measurement
//! ```
//!
//! 1 MAC = one u8 x i8 (or, for the first layer, i16 x i16) multiply-add. The ymm kernels'
//! inner step, per 4-byte input group and 4 pixels x 16 outputs, is 4 `vpbroadcastd`
//! (activations, from L1) and then, into 8 independent i32 accumulators:
//! - AVX2, u8 layers: 8 `vpmaddubsw` (u8 x i8 pairs summed in i16) + 8 `vpmaddwd` by ones +
//!   8 `vpaddd`: 256 MACs; first layer (i16 pairs): 8 `vpmaddwd` + 8 `vpaddd`: 128 MACs;
//! - AVX-512 VNNI on 256-bit vectors, u8 layers: 8 `vpdpbusd`: 256 MACs; first layer:
//!   8 `vpdpwssd`: 128 MACs; AVX-VNNI: the same with the VEX `vpdpbusd`.
//!
//! The zmm kernels (`kernels/avx512.rs`) keep 16 accumulators; their rows here run 8
//! `vpbroadcastd` and 16 `vpdpbusd` zmm (1024 MACs; `vpdpwssd`: 512), or 16 x (`vpmaddubsw` +
//! `vpmaddwd` + `vpaddd`) zmm for AVX-512 BW.
//!
//! The loops below run exactly those instructions on register-resident weights (the kernels
//! add the weight loads per step), unrolled twice. Two rows are for comparison only:
//! the AVX2 mix without broadcasts, and `vpmaddubsw + vpaddw` (i16 accumulation: inexact for
//! the network, the multiply port's ceiling). The last lines, `PEAK_GMACS_PER_CORE*=`, are
//! for scripts: `PEAK_GMACS_PER_CORE` is the 1-thread peak of the u8 mix of the level the
//! library picks here (`nelloc::bench_support::simd_level`, capped by `NELLOC_SIMD`), the
//! figure `nlc bench --peak-gmacs` takes.
#![allow(unsafe_code)]

use std::time::Instant;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;

    /// Input bytes the broadcasts read (L1-resident) and the weights (loaded into registers).
    #[repr(align(32))]
    pub struct Data(pub [u8; 64]);

    /// AVX2 u8 layers: vpbroadcastd + vpmaddubsw + vpmaddwd (by ones) + vpaddd.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2_u8(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: AVX2 is available (caller); the asm reads 64 bytes of `d`, writes 256 bytes of
        // `out` (both valid for those sizes) and declares every register it changes.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm7, ymm7, ymm15",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm7, ymm7, ymm15",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// AVX2 first layer: vpbroadcastd + vpmaddwd (i16 pairs) + vpaddd.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2_i16(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: AVX2 is available (caller); the asm reads 64 bytes of `d`, writes 256 bytes of
        // `out` (both valid for those sizes) and declares every register it changes.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpmaddwd ymm15, ymm8, ymm12",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddwd ymm15, ymm8, ymm13",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddwd ymm15, ymm9, ymm12",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddwd ymm15, ymm9, ymm13",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddwd ymm15, ymm10, ymm12",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddwd ymm15, ymm10, ymm13",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddwd ymm15, ymm11, ymm12",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddwd ymm15, ymm11, ymm13",
                "vpaddd ymm7, ymm7, ymm15",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpmaddwd ymm15, ymm8, ymm12",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddwd ymm15, ymm8, ymm13",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddwd ymm15, ymm9, ymm12",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddwd ymm15, ymm9, ymm13",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddwd ymm15, ymm10, ymm12",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddwd ymm15, ymm10, ymm13",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddwd ymm15, ymm11, ymm12",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddwd ymm15, ymm11, ymm13",
                "vpaddd ymm7, ymm7, ymm15",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// The AVX2 u8 mix without the broadcasts: inputs stay in registers.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2_u8_regs(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: AVX2 is available (caller); the asm reads 64 bytes of `d`, writes 256 bytes of
        // `out` (both valid for those sizes) and declares every register it changes.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm7, ymm7, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpmaddwd ymm15, ymm15, ymm14",
                "vpaddd ymm7, ymm7, ymm15",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// vpmaddubsw + vpaddw: i16 accumulation (saturating, so not usable by the exact
    /// network); the multiply port's ceiling.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2_i16_acc(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: AVX2 is available (caller); the asm reads 64 bytes of `d`, writes 256 bytes of
        // `out` (both valid for those sizes) and declares every register it changes.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpaddw ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpaddw ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpaddw ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpaddw ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpaddw ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpaddw ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpaddw ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpaddw ymm7, ymm7, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm12",
                "vpaddw ymm0, ymm0, ymm15",
                "vpmaddubsw ymm15, ymm8, ymm13",
                "vpaddw ymm1, ymm1, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm12",
                "vpaddw ymm2, ymm2, ymm15",
                "vpmaddubsw ymm15, ymm9, ymm13",
                "vpaddw ymm3, ymm3, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm12",
                "vpaddw ymm4, ymm4, ymm15",
                "vpmaddubsw ymm15, ymm10, ymm13",
                "vpaddw ymm5, ymm5, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm12",
                "vpaddw ymm6, ymm6, ymm15",
                "vpmaddubsw ymm15, ymm11, ymm13",
                "vpaddw ymm7, ymm7, ymm15",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// AVX-512 VNNI u8 layers: vpbroadcastd + vpdpbusd on 256-bit registers.
    ///
    /// # Safety
    /// The CPU and OS must support AVX-512F, AVX-512VL and AVX-512 VNNI ([`has_vnni`]).
    #[target_feature(enable = "avx2")]
    pub unsafe fn vnni_u8(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: VNNI on 256-bit registers is available (caller); the asm reads 64 bytes of `d`,
        // writes 256 bytes of `out` (both valid) and declares every register it changes; EVEX
        // writes to ymm0-15 zero bits 256..511 of zmm0-15, which compiled code never uses.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpdpbusd ymm0, ymm8, ymm12",
                "vpdpbusd ymm1, ymm8, ymm13",
                "vpdpbusd ymm2, ymm9, ymm12",
                "vpdpbusd ymm3, ymm9, ymm13",
                "vpdpbusd ymm4, ymm10, ymm12",
                "vpdpbusd ymm5, ymm10, ymm13",
                "vpdpbusd ymm6, ymm11, ymm12",
                "vpdpbusd ymm7, ymm11, ymm13",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpdpbusd ymm0, ymm8, ymm12",
                "vpdpbusd ymm1, ymm8, ymm13",
                "vpdpbusd ymm2, ymm9, ymm12",
                "vpdpbusd ymm3, ymm9, ymm13",
                "vpdpbusd ymm4, ymm10, ymm12",
                "vpdpbusd ymm5, ymm10, ymm13",
                "vpdpbusd ymm6, ymm11, ymm12",
                "vpdpbusd ymm7, ymm11, ymm13",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// AVX-512 VNNI first layer: vpbroadcastd + vpdpwssd on 256-bit registers.
    ///
    /// # Safety
    /// The CPU and OS must support AVX-512F, AVX-512VL and AVX-512 VNNI ([`has_vnni`]).
    #[target_feature(enable = "avx2")]
    pub unsafe fn vnni_i16(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: VNNI on 256-bit registers is available (caller); the asm reads 64 bytes of `d`,
        // writes 256 bytes of `out` (both valid) and declares every register it changes; EVEX
        // writes to ymm0-15 zero bits 256..511 of zmm0-15, which compiled code never uses.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpcmpeqw ymm14, ymm14, ymm14",
                "vpsrlw ymm14, ymm14, 15",
                "vpbroadcastd ymm8, dword ptr [{x}]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpdpwssd ymm0, ymm8, ymm12",
                "vpdpwssd ymm1, ymm8, ymm13",
                "vpdpwssd ymm2, ymm9, ymm12",
                "vpdpwssd ymm3, ymm9, ymm13",
                "vpdpwssd ymm4, ymm10, ymm12",
                "vpdpwssd ymm5, ymm10, ymm13",
                "vpdpwssd ymm6, ymm11, ymm12",
                "vpdpwssd ymm7, ymm11, ymm13",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "vpdpwssd ymm0, ymm8, ymm12",
                "vpdpwssd ymm1, ymm8, ymm13",
                "vpdpwssd ymm2, ymm9, ymm12",
                "vpdpwssd ymm3, ymm9, ymm13",
                "vpdpwssd ymm4, ymm10, ymm12",
                "vpdpwssd ymm5, ymm10, ymm13",
                "vpdpwssd ymm6, ymm11, ymm12",
                "vpdpwssd ymm7, ymm11, ymm13",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// AVX-VNNI u8 layers: vpbroadcastd + VEX vpdpbusd on ymm (the AVX-VNNI kernel's mix).
    ///
    /// # Safety
    /// The CPU must support AVX-VNNI ([`has_avxvnni`]).
    #[target_feature(enable = "avx2")]
    pub unsafe fn avxvnni_u8(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: AVX-VNNI is available (caller); the asm reads 64 bytes of `d`, writes 256
        // bytes of `out` (both valid) and declares every register it changes.
        unsafe {
            asm!(
                "vmovdqu ymm12, [{x}]",
                "vmovdqu ymm13, [{x} + 32]",
                "vpxor ymm0, ymm0, ymm0",
                "vpxor ymm1, ymm1, ymm1",
                "vpxor ymm2, ymm2, ymm2",
                "vpxor ymm3, ymm3, ymm3",
                "vpxor ymm4, ymm4, ymm4",
                "vpxor ymm5, ymm5, ymm5",
                "vpxor ymm6, ymm6, ymm6",
                "vpxor ymm7, ymm7, ymm7",
                "2:",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "{{vex}} vpdpbusd ymm0, ymm8, ymm12",
                "{{vex}} vpdpbusd ymm1, ymm8, ymm13",
                "{{vex}} vpdpbusd ymm2, ymm9, ymm12",
                "{{vex}} vpdpbusd ymm3, ymm9, ymm13",
                "{{vex}} vpdpbusd ymm4, ymm10, ymm12",
                "{{vex}} vpdpbusd ymm5, ymm10, ymm13",
                "{{vex}} vpdpbusd ymm6, ymm11, ymm12",
                "{{vex}} vpdpbusd ymm7, ymm11, ymm13",
                "vpbroadcastd ymm8, dword ptr [{x} + 0]",
                "vpbroadcastd ymm9, dword ptr [{x} + 4]",
                "vpbroadcastd ymm10, dword ptr [{x} + 8]",
                "vpbroadcastd ymm11, dword ptr [{x} + 12]",
                "{{vex}} vpdpbusd ymm0, ymm8, ymm12",
                "{{vex}} vpdpbusd ymm1, ymm8, ymm13",
                "{{vex}} vpdpbusd ymm2, ymm9, ymm12",
                "{{vex}} vpdpbusd ymm3, ymm9, ymm13",
                "{{vex}} vpdpbusd ymm4, ymm10, ymm12",
                "{{vex}} vpdpbusd ymm5, ymm10, ymm13",
                "{{vex}} vpdpbusd ymm6, ymm11, ymm12",
                "{{vex}} vpdpbusd ymm7, ymm11, ymm13",
                "dec {n}",
                "jnz 2b",
                "vmovdqu [{o} + 0], ymm0",
                "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2",
                "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4",
                "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6",
                "vmovdqu [{o} + 224], ymm7",
                "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("ymm0") _,
                out("ymm1") _,
                out("ymm2") _,
                out("ymm3") _,
                out("ymm4") _,
                out("ymm5") _,
                out("ymm6") _,
                out("ymm7") _,
                out("ymm8") _,
                out("ymm9") _,
                out("ymm10") _,
                out("ymm11") _,
                out("ymm12") _,
                out("ymm13") _,
                out("ymm14") _,
                out("ymm15") _,
                options(nostack),
            );
        }
    }

    /// AVX-512 VNNI u8 layers on zmm: per step 8 vpbroadcastd + 16 vpdpbusd into 16
    /// accumulators (the zmm kernel's 8 pixels x 32 outputs tile).
    ///
    /// # Safety
    /// The CPU and OS must support AVX-512 F, BW and VNNI ([`has_vnni`]).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni_zmm_u8(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: the CPU features are available (caller); the asm reads 64 bytes of `d`,
        // writes 256 bytes of `out` (both valid for those sizes) and declares every register
        // it changes.
        unsafe {
            asm!(
            "vmovdqu64 zmm16, [{x}]",
            "vmovdqu64 zmm17, [{x}]",
            "vpxord zmm0, zmm0, zmm0",
            "vpxord zmm1, zmm1, zmm1",
            "vpxord zmm2, zmm2, zmm2",
            "vpxord zmm3, zmm3, zmm3",
            "vpxord zmm4, zmm4, zmm4",
            "vpxord zmm5, zmm5, zmm5",
            "vpxord zmm6, zmm6, zmm6",
            "vpxord zmm7, zmm7, zmm7",
            "vpxord zmm8, zmm8, zmm8",
            "vpxord zmm9, zmm9, zmm9",
            "vpxord zmm10, zmm10, zmm10",
            "vpxord zmm11, zmm11, zmm11",
            "vpxord zmm12, zmm12, zmm12",
            "vpxord zmm13, zmm13, zmm13",
            "vpxord zmm14, zmm14, zmm14",
            "vpxord zmm15, zmm15, zmm15",
            "2:",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpdpbusd zmm0, zmm20, zmm16",
            "vpdpbusd zmm1, zmm20, zmm17",
            "vpdpbusd zmm2, zmm21, zmm16",
            "vpdpbusd zmm3, zmm21, zmm17",
            "vpdpbusd zmm4, zmm22, zmm16",
            "vpdpbusd zmm5, zmm22, zmm17",
            "vpdpbusd zmm6, zmm23, zmm16",
            "vpdpbusd zmm7, zmm23, zmm17",
            "vpdpbusd zmm8, zmm24, zmm16",
            "vpdpbusd zmm9, zmm24, zmm17",
            "vpdpbusd zmm10, zmm25, zmm16",
            "vpdpbusd zmm11, zmm25, zmm17",
            "vpdpbusd zmm12, zmm26, zmm16",
            "vpdpbusd zmm13, zmm26, zmm17",
            "vpdpbusd zmm14, zmm27, zmm16",
            "vpdpbusd zmm15, zmm27, zmm17",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpdpbusd zmm0, zmm20, zmm16",
            "vpdpbusd zmm1, zmm20, zmm17",
            "vpdpbusd zmm2, zmm21, zmm16",
            "vpdpbusd zmm3, zmm21, zmm17",
            "vpdpbusd zmm4, zmm22, zmm16",
            "vpdpbusd zmm5, zmm22, zmm17",
            "vpdpbusd zmm6, zmm23, zmm16",
            "vpdpbusd zmm7, zmm23, zmm17",
            "vpdpbusd zmm8, zmm24, zmm16",
            "vpdpbusd zmm9, zmm24, zmm17",
            "vpdpbusd zmm10, zmm25, zmm16",
            "vpdpbusd zmm11, zmm25, zmm17",
            "vpdpbusd zmm12, zmm26, zmm16",
            "vpdpbusd zmm13, zmm26, zmm17",
            "vpdpbusd zmm14, zmm27, zmm16",
            "vpdpbusd zmm15, zmm27, zmm17",
            "dec {n}",
            "jnz 2b",
            "vpaddd zmm0, zmm0, zmm4",
            "vpaddd zmm1, zmm1, zmm5",
            "vpaddd zmm2, zmm2, zmm6",
            "vpaddd zmm3, zmm3, zmm7",
            "vpaddd zmm0, zmm0, zmm8",
            "vpaddd zmm1, zmm1, zmm9",
            "vpaddd zmm2, zmm2, zmm10",
            "vpaddd zmm3, zmm3, zmm11",
            "vpaddd zmm0, zmm0, zmm12",
            "vpaddd zmm1, zmm1, zmm13",
            "vpaddd zmm2, zmm2, zmm14",
            "vpaddd zmm3, zmm3, zmm15",
            "vmovdqu64 [{o} + 0], zmm0",
            "vmovdqu64 [{o} + 64], zmm1",
            "vmovdqu64 [{o} + 128], zmm2",
            "vmovdqu64 [{o} + 192], zmm3",
            "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("zmm0") _,
                out("zmm1") _,
                out("zmm2") _,
                out("zmm3") _,
                out("zmm4") _,
                out("zmm5") _,
                out("zmm6") _,
                out("zmm7") _,
                out("zmm8") _,
                out("zmm9") _,
                out("zmm10") _,
                out("zmm11") _,
                out("zmm12") _,
                out("zmm13") _,
                out("zmm14") _,
                out("zmm15") _,
                out("zmm16") _,
                out("zmm17") _,
                out("zmm18") _,
                out("zmm19") _,
                out("zmm20") _,
                out("zmm21") _,
                out("zmm22") _,
                out("zmm23") _,
                out("zmm24") _,
                out("zmm25") _,
                out("zmm26") _,
                out("zmm27") _,
                out("zmm28") _,
                out("zmm29") _,
                out("zmm30") _,
                out("zmm31") _,
                options(nostack),
            );
        }
    }

    /// AVX-512 VNNI first layer on zmm: 8 vpbroadcastd + 16 vpdpwssd per step.
    ///
    /// # Safety
    /// The CPU and OS must support AVX-512 F, BW and VNNI ([`has_vnni`]).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni_zmm_i16(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: the CPU features are available (caller); the asm reads 64 bytes of `d`,
        // writes 256 bytes of `out` (both valid for those sizes) and declares every register
        // it changes.
        unsafe {
            asm!(
            "vmovdqu64 zmm16, [{x}]",
            "vmovdqu64 zmm17, [{x}]",
            "vpxord zmm0, zmm0, zmm0",
            "vpxord zmm1, zmm1, zmm1",
            "vpxord zmm2, zmm2, zmm2",
            "vpxord zmm3, zmm3, zmm3",
            "vpxord zmm4, zmm4, zmm4",
            "vpxord zmm5, zmm5, zmm5",
            "vpxord zmm6, zmm6, zmm6",
            "vpxord zmm7, zmm7, zmm7",
            "vpxord zmm8, zmm8, zmm8",
            "vpxord zmm9, zmm9, zmm9",
            "vpxord zmm10, zmm10, zmm10",
            "vpxord zmm11, zmm11, zmm11",
            "vpxord zmm12, zmm12, zmm12",
            "vpxord zmm13, zmm13, zmm13",
            "vpxord zmm14, zmm14, zmm14",
            "vpxord zmm15, zmm15, zmm15",
            "2:",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpdpwssd zmm0, zmm20, zmm16",
            "vpdpwssd zmm1, zmm20, zmm17",
            "vpdpwssd zmm2, zmm21, zmm16",
            "vpdpwssd zmm3, zmm21, zmm17",
            "vpdpwssd zmm4, zmm22, zmm16",
            "vpdpwssd zmm5, zmm22, zmm17",
            "vpdpwssd zmm6, zmm23, zmm16",
            "vpdpwssd zmm7, zmm23, zmm17",
            "vpdpwssd zmm8, zmm24, zmm16",
            "vpdpwssd zmm9, zmm24, zmm17",
            "vpdpwssd zmm10, zmm25, zmm16",
            "vpdpwssd zmm11, zmm25, zmm17",
            "vpdpwssd zmm12, zmm26, zmm16",
            "vpdpwssd zmm13, zmm26, zmm17",
            "vpdpwssd zmm14, zmm27, zmm16",
            "vpdpwssd zmm15, zmm27, zmm17",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpdpwssd zmm0, zmm20, zmm16",
            "vpdpwssd zmm1, zmm20, zmm17",
            "vpdpwssd zmm2, zmm21, zmm16",
            "vpdpwssd zmm3, zmm21, zmm17",
            "vpdpwssd zmm4, zmm22, zmm16",
            "vpdpwssd zmm5, zmm22, zmm17",
            "vpdpwssd zmm6, zmm23, zmm16",
            "vpdpwssd zmm7, zmm23, zmm17",
            "vpdpwssd zmm8, zmm24, zmm16",
            "vpdpwssd zmm9, zmm24, zmm17",
            "vpdpwssd zmm10, zmm25, zmm16",
            "vpdpwssd zmm11, zmm25, zmm17",
            "vpdpwssd zmm12, zmm26, zmm16",
            "vpdpwssd zmm13, zmm26, zmm17",
            "vpdpwssd zmm14, zmm27, zmm16",
            "vpdpwssd zmm15, zmm27, zmm17",
            "dec {n}",
            "jnz 2b",
            "vpaddd zmm0, zmm0, zmm4",
            "vpaddd zmm1, zmm1, zmm5",
            "vpaddd zmm2, zmm2, zmm6",
            "vpaddd zmm3, zmm3, zmm7",
            "vpaddd zmm0, zmm0, zmm8",
            "vpaddd zmm1, zmm1, zmm9",
            "vpaddd zmm2, zmm2, zmm10",
            "vpaddd zmm3, zmm3, zmm11",
            "vpaddd zmm0, zmm0, zmm12",
            "vpaddd zmm1, zmm1, zmm13",
            "vpaddd zmm2, zmm2, zmm14",
            "vpaddd zmm3, zmm3, zmm15",
            "vmovdqu64 [{o} + 0], zmm0",
            "vmovdqu64 [{o} + 64], zmm1",
            "vmovdqu64 [{o} + 128], zmm2",
            "vmovdqu64 [{o} + 192], zmm3",
            "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("zmm0") _,
                out("zmm1") _,
                out("zmm2") _,
                out("zmm3") _,
                out("zmm4") _,
                out("zmm5") _,
                out("zmm6") _,
                out("zmm7") _,
                out("zmm8") _,
                out("zmm9") _,
                out("zmm10") _,
                out("zmm11") _,
                out("zmm12") _,
                out("zmm13") _,
                out("zmm14") _,
                out("zmm15") _,
                out("zmm16") _,
                out("zmm17") _,
                out("zmm18") _,
                out("zmm19") _,
                out("zmm20") _,
                out("zmm21") _,
                out("zmm22") _,
                out("zmm23") _,
                out("zmm24") _,
                out("zmm25") _,
                out("zmm26") _,
                out("zmm27") _,
                out("zmm28") _,
                out("zmm29") _,
                out("zmm30") _,
                out("zmm31") _,
                options(nostack),
            );
        }
    }

    /// AVX-512 BW u8 layers on zmm: 8 vpbroadcastd + 16 x (vpmaddubsw + vpmaddwd by ones +
    /// vpaddd) per step.
    ///
    /// # Safety
    /// The CPU and OS must support AVX-512 F and BW ([`has_avx512bw`]).
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn bw_zmm_u8(iters: u64, d: &Data, out: &mut [i32; 64]) {
        // SAFETY: the CPU features are available (caller); the asm reads 64 bytes of `d`,
        // writes 256 bytes of `out` (both valid for those sizes) and declares every register
        // it changes.
        unsafe {
            asm!(
            "vmovdqu64 zmm16, [{x}]",
            "vmovdqu64 zmm17, [{x}]",
            "vpternlogd zmm18, zmm18, zmm18, 0xff",
            "vpsrlw zmm18, zmm18, 15",
            "vpxord zmm0, zmm0, zmm0",
            "vpxord zmm1, zmm1, zmm1",
            "vpxord zmm2, zmm2, zmm2",
            "vpxord zmm3, zmm3, zmm3",
            "vpxord zmm4, zmm4, zmm4",
            "vpxord zmm5, zmm5, zmm5",
            "vpxord zmm6, zmm6, zmm6",
            "vpxord zmm7, zmm7, zmm7",
            "vpxord zmm8, zmm8, zmm8",
            "vpxord zmm9, zmm9, zmm9",
            "vpxord zmm10, zmm10, zmm10",
            "vpxord zmm11, zmm11, zmm11",
            "vpxord zmm12, zmm12, zmm12",
            "vpxord zmm13, zmm13, zmm13",
            "vpxord zmm14, zmm14, zmm14",
            "vpxord zmm15, zmm15, zmm15",
            "2:",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpmaddubsw zmm28, zmm20, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm0, zmm0, zmm28",
            "vpmaddubsw zmm29, zmm20, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm1, zmm1, zmm29",
            "vpmaddubsw zmm30, zmm21, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm2, zmm2, zmm30",
            "vpmaddubsw zmm31, zmm21, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm3, zmm3, zmm31",
            "vpmaddubsw zmm28, zmm22, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm4, zmm4, zmm28",
            "vpmaddubsw zmm29, zmm22, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm5, zmm5, zmm29",
            "vpmaddubsw zmm30, zmm23, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm6, zmm6, zmm30",
            "vpmaddubsw zmm31, zmm23, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm7, zmm7, zmm31",
            "vpmaddubsw zmm28, zmm24, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm8, zmm8, zmm28",
            "vpmaddubsw zmm29, zmm24, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm9, zmm9, zmm29",
            "vpmaddubsw zmm30, zmm25, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm10, zmm10, zmm30",
            "vpmaddubsw zmm31, zmm25, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm11, zmm11, zmm31",
            "vpmaddubsw zmm28, zmm26, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm12, zmm12, zmm28",
            "vpmaddubsw zmm29, zmm26, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm13, zmm13, zmm29",
            "vpmaddubsw zmm30, zmm27, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm14, zmm14, zmm30",
            "vpmaddubsw zmm31, zmm27, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm15, zmm15, zmm31",
            "vpbroadcastd zmm20, dword ptr [{x} + 0]",
            "vpbroadcastd zmm21, dword ptr [{x} + 4]",
            "vpbroadcastd zmm22, dword ptr [{x} + 8]",
            "vpbroadcastd zmm23, dword ptr [{x} + 12]",
            "vpbroadcastd zmm24, dword ptr [{x} + 16]",
            "vpbroadcastd zmm25, dword ptr [{x} + 20]",
            "vpbroadcastd zmm26, dword ptr [{x} + 24]",
            "vpbroadcastd zmm27, dword ptr [{x} + 28]",
            "vpmaddubsw zmm28, zmm20, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm0, zmm0, zmm28",
            "vpmaddubsw zmm29, zmm20, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm1, zmm1, zmm29",
            "vpmaddubsw zmm30, zmm21, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm2, zmm2, zmm30",
            "vpmaddubsw zmm31, zmm21, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm3, zmm3, zmm31",
            "vpmaddubsw zmm28, zmm22, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm4, zmm4, zmm28",
            "vpmaddubsw zmm29, zmm22, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm5, zmm5, zmm29",
            "vpmaddubsw zmm30, zmm23, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm6, zmm6, zmm30",
            "vpmaddubsw zmm31, zmm23, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm7, zmm7, zmm31",
            "vpmaddubsw zmm28, zmm24, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm8, zmm8, zmm28",
            "vpmaddubsw zmm29, zmm24, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm9, zmm9, zmm29",
            "vpmaddubsw zmm30, zmm25, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm10, zmm10, zmm30",
            "vpmaddubsw zmm31, zmm25, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm11, zmm11, zmm31",
            "vpmaddubsw zmm28, zmm26, zmm16",
            "vpmaddwd zmm28, zmm28, zmm18",
            "vpaddd zmm12, zmm12, zmm28",
            "vpmaddubsw zmm29, zmm26, zmm17",
            "vpmaddwd zmm29, zmm29, zmm18",
            "vpaddd zmm13, zmm13, zmm29",
            "vpmaddubsw zmm30, zmm27, zmm16",
            "vpmaddwd zmm30, zmm30, zmm18",
            "vpaddd zmm14, zmm14, zmm30",
            "vpmaddubsw zmm31, zmm27, zmm17",
            "vpmaddwd zmm31, zmm31, zmm18",
            "vpaddd zmm15, zmm15, zmm31",
            "dec {n}",
            "jnz 2b",
            "vpaddd zmm0, zmm0, zmm4",
            "vpaddd zmm1, zmm1, zmm5",
            "vpaddd zmm2, zmm2, zmm6",
            "vpaddd zmm3, zmm3, zmm7",
            "vpaddd zmm0, zmm0, zmm8",
            "vpaddd zmm1, zmm1, zmm9",
            "vpaddd zmm2, zmm2, zmm10",
            "vpaddd zmm3, zmm3, zmm11",
            "vpaddd zmm0, zmm0, zmm12",
            "vpaddd zmm1, zmm1, zmm13",
            "vpaddd zmm2, zmm2, zmm14",
            "vpaddd zmm3, zmm3, zmm15",
            "vmovdqu64 [{o} + 0], zmm0",
            "vmovdqu64 [{o} + 64], zmm1",
            "vmovdqu64 [{o} + 128], zmm2",
            "vmovdqu64 [{o} + 192], zmm3",
            "vzeroupper",
                n = inout(reg) iters => _,
                x = in(reg) d.0.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("zmm0") _,
                out("zmm1") _,
                out("zmm2") _,
                out("zmm3") _,
                out("zmm4") _,
                out("zmm5") _,
                out("zmm6") _,
                out("zmm7") _,
                out("zmm8") _,
                out("zmm9") _,
                out("zmm10") _,
                out("zmm11") _,
                out("zmm12") _,
                out("zmm13") _,
                out("zmm14") _,
                out("zmm15") _,
                out("zmm16") _,
                out("zmm17") _,
                out("zmm18") _,
                out("zmm19") _,
                out("zmm20") _,
                out("zmm21") _,
                out("zmm22") _,
                out("zmm23") _,
                out("zmm24") _,
                out("zmm25") _,
                out("zmm26") _,
                out("zmm27") _,
                out("zmm28") _,
                out("zmm29") _,
                out("zmm30") _,
                out("zmm31") _,
                options(nostack),
            );
        }
    }

    /// Whether the CPU and OS support AVX-512F + VL + VNNI (cpuid leaf 7 and XCR0), as the
    /// library's VNNI level requires.
    pub fn has_vnni() -> bool {
        use std::arch::x86_64::__cpuid_count;
        if !std::arch::is_x86_feature_detected!("avx2") {
            return false;
        }
        // SAFETY: cpuid is always available on x86-64 (the call is safe in newer Rust).
        #[allow(unused_unsafe)]
        let leaf1 = unsafe { __cpuid_count(1, 0) };
        // SAFETY: as above.
        #[allow(unused_unsafe)]
        let leaf7 = unsafe { __cpuid_count(7, 0) };
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let cpu =
            leaf7.ebx & (1 << 16) != 0 && leaf7.ebx & (1 << 31) != 0 && leaf7.ecx & (1 << 11) != 0;
        if !osxsave || !cpu {
            return false;
        }
        let lo: u32;
        // SAFETY: xgetbv with ecx = 0 is available when OSXSAVE is set (checked above).
        unsafe {
            asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") _, options(nomem, nostack));
        }
        // SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state enabled by the OS.
        lo & 0b1110_0110 == 0b1110_0110
    }

    /// Whether the CPU and OS support AVX-512 F and BW (the zmm kernels without VNNI).
    pub fn has_avx512bw() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }

    /// Whether the CPU and OS support AVX-512 F, BW and VNNI (the zmm VNNI kernels).
    pub fn has_vnni_zmm() -> bool {
        has_vnni() && has_avx512bw()
    }

    /// Whether the CPU supports AVX-VNNI (VEX-encoded 256-bit VNNI).
    pub fn has_avxvnni() -> bool {
        std::arch::is_x86_feature_detected!("avxvnni")
    }
}

/// One measured loop: runs its instruction mix for the given number of iterations.
type Variant = fn(u64);

/// Runs `f(iters)` on `threads` threads at once; the wall time until all have finished.
fn timed(threads: usize, iters: u64, f: Variant) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(move || f(iters));
        }
    });
    t.elapsed().as_secs_f64()
}

/// GMAC/s of `f` over all `threads`: calibrated to ~`secs` per run, best of 3 runs.
fn measure(threads: usize, secs: f64, macs_per_iter: u64, f: Variant) -> f64 {
    let mut iters = 1u64 << 12;
    while timed(1, iters, f) < 0.02 {
        iters *= 2;
    }
    let per_iter = timed(1, iters, f) / iters as f64;
    let iters = ((secs / per_iter) as u64).max(1);
    let best = (0..3)
        .map(|_| timed(threads, iters, f))
        .fold(f64::INFINITY, f64::min);
    (threads as u64 * iters * macs_per_iter) as f64 / best / 1e9
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

#[cfg(target_arch = "x86_64")]
fn main() {
    use x86::*;
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.3);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = std::env::var("NELLOC_SIMD").unwrap_or_default();
    if !std::arch::is_x86_feature_detected!("avx2") || cap == "scalar" {
        println!("no AVX2 (or NELLOC_SIMD=scalar): the network runs its scalar kernel; no SIMD peak to report");
        println!("PEAK_GMACS_PER_CORE=unavailable");
        return;
    }
    let vnni = has_vnni();
    let (bw, zmm, avxvnni) = (has_avx512bw(), has_vnni_zmm(), has_avxvnni());
    // The level the library picks here (NELLOC_SIMD caps it), by its Debug name.
    let lib = nelloc::bench_support::simd_level();
    fn data() -> Data {
        let mut d = Data([0; 64]);
        for (i, b) in d.0.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) & 0x3f;
        }
        d
    }
    fn avx2_u8(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: AVX2 was detected in main before any loop runs.
        unsafe { x86::avx2_u8(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn avx2_i16(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: AVX2 was detected in main before any loop runs.
        unsafe { x86::avx2_i16(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn avx2_u8_regs(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: AVX2 was detected in main before any loop runs.
        unsafe { x86::avx2_u8_regs(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn avx2_i16_acc(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: AVX2 was detected in main before any loop runs.
        unsafe { x86::avx2_i16_acc(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn vnni_u8(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_vnni() returned true.
        unsafe { x86::vnni_u8(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn vnni_i16(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_vnni() returned true.
        unsafe { x86::vnni_i16(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn avxvnni_u8(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_avxvnni() returned true.
        unsafe { x86::avxvnni_u8(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn bw_zmm_u8(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_avx512bw() returned true.
        unsafe { x86::bw_zmm_u8(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn vnni_zmm_u8(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_vnni_zmm() returned true.
        unsafe { x86::vnni_zmm_u8(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }
    fn vnni_zmm_i16(iters: u64) {
        let mut out = [0; 64];
        // SAFETY: only called when has_vnni_zmm() returned true.
        unsafe { x86::vnni_zmm_i16(iters, &data(), &mut out) };
        std::hint::black_box(out);
    }

    // (name, loop, MACs per iteration, kind): the u8 mix of a library level (its Debug
    // name), or "" for the other rows.
    let mut rows: Vec<(&str, Variant, u64, &str)> = vec![
        (
            "AVX2 u8 layers: vpbroadcastd + vpmaddubsw + vpmaddwd + vpaddd",
            avx2_u8,
            512,
            "Avx2",
        ),
        (
            "AVX2 first layer (i16): vpbroadcastd + vpmaddwd + vpaddd",
            avx2_i16,
            256,
            "",
        ),
        (
            "(compare) AVX2 u8 mix without vpbroadcastd",
            avx2_u8_regs,
            512,
            "",
        ),
        (
            "(compare) vpmaddubsw + vpaddw: i16 accumulation, inexact",
            avx2_i16_acc,
            512,
            "",
        ),
    ];
    if vnni {
        rows.push((
            "VNNI u8 layers: vpbroadcastd + vpdpbusd ymm",
            vnni_u8,
            512,
            "Avx512VnniYmm",
        ));
        rows.push((
            "VNNI first layer (i16): vpbroadcastd + vpdpwssd ymm",
            vnni_i16,
            256,
            "",
        ));
    } else {
        println!("(no AVX-512 VNNI on this CPU: its rows are skipped)");
    }
    if avxvnni {
        rows.push((
            "AVX-VNNI u8 layers: vpbroadcastd + VEX vpdpbusd ymm",
            avxvnni_u8,
            512,
            "AvxVnni",
        ));
    } else {
        println!("(no AVX-VNNI on this CPU: its row is skipped)");
    }
    if bw {
        rows.push((
            "AVX-512 BW u8 layers: vpbroadcastd + vpmaddubsw + vpmaddwd + vpaddd zmm, 16 chains",
            bw_zmm_u8,
            2048,
            "Avx512Bw",
        ));
    } else {
        println!("(no AVX-512 BW on this CPU: its row is skipped)");
    }
    if zmm {
        rows.push((
            "VNNI u8 layers: vpbroadcastd + vpdpbusd zmm, 16 chains",
            vnni_zmm_u8,
            2048,
            "Avx512VnniZmm",
        ));
        rows.push((
            "VNNI first layer (i16): vpbroadcastd + vpdpwssd zmm, 16 chains",
            vnni_zmm_i16,
            1024,
            "",
        ));
    } else {
        println!("(no AVX-512 VNNI with BW on this CPU: the zmm VNNI rows are skipped)");
    }
    println!(
        "int8 multiply-add peak; 1 MAC = one u8 x i8 (i16 x i16 for the first layer) multiply-add;"
    );
    println!("8 independent accumulator chains (16 in the zmm rows); best of 3 runs of ~{secs} s");
    println!(
        "CPU: {}, {cores} logical CPU(s); the library uses level {lib} here",
        cpu_model(),
    );
    println!();
    println!("| instruction mix | 1 thread GMAC/s | {cores} threads GMAC/s | per core |");
    println!("|---|---|---|---|");
    let mut peaks = std::collections::HashMap::new();
    for (name, f, macs, kind) in rows {
        let one = measure(1, secs, macs, f);
        let all = measure(cores, secs, macs, f);
        println!(
            "| {name} | {one:.1} | {all:.1} | {:.1} |",
            all / cores as f64
        );
        if !kind.is_empty() {
            peaks.insert(kind, one);
        }
    }
    println!();
    let fmt = |v: Option<f64>| v.map_or("unavailable".to_string(), |v| format!("{v:.2}"));
    let peak = |level: &str| peaks.get(level).copied();
    println!("PEAK_GMACS_PER_CORE_AVX2={}", fmt(peak("Avx2")));
    println!("PEAK_GMACS_PER_CORE_AVX512BW={}", fmt(peak("Avx512Bw")));
    println!("PEAK_GMACS_PER_CORE_AVXVNNI={}", fmt(peak("AvxVnni")));
    println!("PEAK_GMACS_PER_CORE_VNNI={}", fmt(peak("Avx512VnniYmm")));
    println!(
        "PEAK_GMACS_PER_CORE_VNNI_ZMM={}",
        fmt(peak("Avx512VnniZmm"))
    );
    println!("PEAK_GMACS_PER_CORE={}", fmt(peak(&lib)));
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    let _ = (measure, cpu_model);
    println!("int8_peak measures the x86-64 kernels' instruction mixes; this is not x86-64");
    println!("PEAK_GMACS_PER_CORE=unavailable");
}
