//! Gives the shared library the SONAME it is installed under (ffi/Makefile):
//! `libnelloc.so.<major>.<minor>` while the major version is 0 (every 0.x minor release may
//! break the ABI), `libnelloc.so.<major>` from 1.0 on.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("{major}.{minor}")
    } else {
        major
    };
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnelloc.so.{abi}");
    }
}
