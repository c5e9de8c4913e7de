//! Embeds the libtorch library folder as an rpath, so that the binary and the tests run without
//! LD_LIBRARY_PATH. torch-sys finds libtorch, and this script queries the same Python interpreter for its folder.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-env-changed=PYTHON_SYS_EXECUTABLE");

    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        add_rpath(&format!("{libtorch}/lib"));
        return;
    }
    if std::env::var("LIBTORCH_USE_PYTORCH").is_err() {
        return;
    }
    let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".to_string());
    let script = "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))";
    if let Ok(output) = Command::new(python).args(["-c", script]).output() {
        if output.status.success() {
            let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
            add_rpath(&dir);
        }
    }
}

fn add_rpath(dir: &str) {
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}
