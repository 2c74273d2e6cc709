//! Records what the binary is built from (see `build/version.rs`) for
//! `certbridge --version`.

#[path = "build/version.rs"]
mod version;

fn main() {
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // Reproducible builds pin the date.
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let source = version::describe(&dir, epoch);
    println!("cargo:rustc-env=CERTBRIDGE_GIT_COMMIT={}", source.commit);
    println!("cargo:rustc-env=CERTBRIDGE_BUILD_DATE={}", source.date);
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // The build inputs (their edits flip the dirty flag) and git's HEAD,
    // branch and index (a commit changes the hash). Docs and tests are left
    // out on purpose: editing them should not rebuild the binary.
    for p in ["build.rs", "build", "src", "Cargo.toml", "Cargo.lock"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    for p in &source.watch {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
