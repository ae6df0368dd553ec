//! Builds every guest component (examples and test guests) for wasm32-wasip2
//! before the tests compile, like wasmtime's test-programs artifacts. The
//! guests get their own target directory so this nested cargo never waits on
//! the lock of the build that runs it.

use std::path::PathBuf;
use std::process::Command;

const GUESTS: &[&str] = &[
    "hello-sequence",
    "fan-out",
    "approval",
    "counter",
    "bank",
    "orders",
    "misbehaving",
    "hello-v2",
    "upgrades-v2",
    "upgrades-v3",
    "not-reprise",
];

/// Python guests: the component's name, and the directory of its `app.py`.
const PYTHON_GUESTS: &[(&str, &str)] = &[
    ("py_guest", "tests/guests/python"),
    ("py_guest_v2", "tests/guests/python-v2"),
    ("py_bank", "examples/python/bank"),
    ("py_shipping", "examples/python/shipping"),
];

/// JavaScript guests: the component's name, and its entry module.
const JS_GUESTS: &[(&str, &str)] = &[
    ("js_guest", "tests/guests/js/app.js"),
    ("js_guest_v2", "tests/guests/js-v2/app.js"),
    ("js_pricing", "examples/js/pricing/app.js"),
    ("js_bank", "examples/js/bank/app.js"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["wit", "guest-sdk", "examples", "tests/guests"] {
        watch(&root.join(dir));
    }
    let target_dir = root.join("target").join("guests");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir);
    // Settings meant for the host build must not leak into the guests'.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_") && key != "CARGO_HOME"
            || key.starts_with("RUSTC")
            || key == "RUSTFLAGS"
        {
            cargo.env_remove(key);
        }
    }
    for guest in GUESTS {
        cargo.args(["-p", guest]);
    }
    let status = cargo
        .status()
        .expect("cannot run cargo to build the guests");
    assert!(status.success(), "building the guest components failed");
    let out = target_dir.join("wasm32-wasip2").join("release");
    println!("cargo:rustc-env=REPRISE_GUESTS={}", out.display());
    build_python_guests(&root, &target_dir);
    build_js_guests(&root, &target_dir);
}

/// Builds again when a source file under `dir` changes. Files, not the
/// directory: componentize-py writes bytecode caches beside the Python
/// sources, and a watched directory would count them as changes, so every
/// build would build every guest again.
fn watch(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("__pycache__" | "target" | "node_modules")
        ) {
            continue;
        }
        if path.is_dir() {
            watch(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// Python guests, with the componentize-py that `scripts/toolchains`
/// installs. Without it they are not built, and the tests that need them
/// fail saying so.
fn build_python_guests(root: &std::path::Path, target_dir: &std::path::Path) {
    let componentize = root.join("target/toolchains/python/bin/componentize-py");
    println!("cargo:rerun-if-changed={}", componentize.display());
    let out = target_dir.join("python");
    if !componentize.exists() {
        println!(
            "cargo:warning=componentize-py is not installed (run scripts/toolchains): Python guests not built"
        );
        println!("cargo:rustc-env=REPRISE_PYTHON_GUESTS=");
        return;
    }
    std::fs::create_dir_all(&out).expect("cannot create the Python guests' directory");
    for (name, dir) in PYTHON_GUESTS {
        let status = Command::new(&componentize)
            .current_dir(root)
            .args(["-d", "wit", "-w", "app", "componentize", "app"])
            .args(["-p", dir, "-p", "guest-sdk/python", "-o"])
            .arg(out.join(format!("{name}.wasm")))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("cannot run componentize-py");
        assert!(status.success(), "building the Python guest {dir} failed");
    }
    println!("cargo:rustc-env=REPRISE_PYTHON_GUESTS={}", out.display());
}

/// JavaScript guests, with the componentize-qjs that `scripts/toolchains`
/// installs (npm ci at the root, which also links `guest-sdk/js` as the
/// `reprise` package). The repository is the module root, so `reprise`
/// resolves to `node_modules/reprise`.
fn build_js_guests(root: &std::path::Path, target_dir: &std::path::Path) {
    let componentize = root.join("node_modules/.bin/componentize-qjs");
    println!("cargo:rerun-if-changed={}", componentize.display());
    let out = target_dir.join("js");
    if !componentize.exists() {
        println!(
            "cargo:warning=componentize-qjs is not installed (run scripts/toolchains): JavaScript guests not built"
        );
        println!("cargo:rustc-env=REPRISE_JS_GUESTS=");
        return;
    }
    std::fs::create_dir_all(&out).expect("cannot create the JavaScript guests' directory");
    for (name, entry) in JS_GUESTS {
        let status = Command::new(&componentize)
            .current_dir(root)
            .args([
                "--wit",
                "wit",
                "--world",
                "app",
                "--sync",
                "--module-root",
                ".",
            ])
            .args(["--js", entry, "-o"])
            .arg(out.join(format!("{name}.wasm")))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("cannot run componentize-qjs");
        assert!(
            status.success(),
            "building the JavaScript guest {entry} failed"
        );
    }
    println!("cargo:rustc-env=REPRISE_JS_GUESTS={}", out.display());
}
