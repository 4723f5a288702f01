#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nelloc_fuzz::abi::abi(data));
