//! The data packages the builder reads: where `scripts/fetch-data.sh` unpacks each one under the
//! raw data folder, its registry name and its licence.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// A package fetched by `scripts/fetch-data.sh`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Package {
    /// Folder under the raw data folder.
    pub folder: &'static str,
    /// Path inside `folder` where the package content starts.
    pub root: &'static str,
    /// Registry and package name with version, e.g. "npm emojibase-data@17.0.0".
    pub source: &'static str,
    /// SPDX licence identifier of the content the builder uses.
    pub licence: &'static str,
}

pub const EMOJIBASE: Package = Package {
    folder: "emojibase-data",
    root: "package",
    source: "npm emojibase-data@17.0.0",
    licence: "MIT",
};

pub const EMOJI_DATASOURCE: Package = Package {
    folder: "emoji-datasource",
    root: "package",
    source: "npm emoji-datasource@16.0.0",
    licence: "MIT",
};

pub const GOOGLE: Package = Package {
    folder: "emoji-datasource-google",
    root: "package",
    source: "npm emoji-datasource-google@16.0.0",
    licence: "Apache-2.0",
};

pub const TWITTER: Package = Package {
    folder: "emoji-datasource-twitter",
    root: "package",
    source: "npm emoji-datasource-twitter@16.0.0",
    licence: "CC-BY-4.0",
};

pub const FLUENT_3D: Package = Package {
    folder: "fluent-emoji-3d",
    root: "package",
    source: "npm @lobehub/fluent-emoji-3d@1.1.0",
    licence: "MIT",
};

pub const OPENMOJI: Package = Package {
    folder: "openmoji",
    root: "package",
    source: "npm openmoji@17.0.0",
    licence: "CC-BY-SA-4.0",
};

pub const NOTO: Package = Package {
    folder: "iconify-noto",
    root: "package",
    source: "npm @iconify-json/noto@1.2.9",
    licence: "Apache-2.0",
};

pub const FLUENT_COLOR: Package = Package {
    folder: "iconify-fluent-emoji",
    root: "package",
    source: "npm @iconify-json/fluent-emoji@1.2.7",
    licence: "MIT",
};

pub const TUXPAINT: Package = Package {
    folder: "tuxpaint-stamps-default",
    root: "usr/share/tuxpaint/stamps",
    source: "Debian tuxpaint-stamps-default (bookworm, 2022.06.04-1)",
    licence: "GPL-2.0",
};

/// Returns the content folder of a package, or an error naming the missing folder.
pub fn package_dir(raw_dir: &Path, package: &Package) -> Result<PathBuf> {
    let dir = raw_dir.join(package.folder).join(package.root);
    if dir.is_dir() {
        return Ok(dir);
    }
    Err(Error::Data(format!(
        "data package folder {} not found ({}); run scripts/fetch-data.sh to download it, \
         or point the raw data folder at the one that script filled",
        dir.display(),
        package.source
    )))
}

/// Reads and parses a JSON file of a package; the error names the file and the package.
pub fn read_json<T: DeserializeOwned>(path: &Path, package: &Package) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Data(format!(
            "failed to read {} ({}): {e}; delete {} and run scripts/fetch-data.sh again",
            path.display(),
            package.source,
            package.folder
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Data(format!(
            "failed to parse {} ({}): {e}; the file is damaged or from another version, \
             delete {} and run scripts/fetch-data.sh again",
            path.display(),
            package.source,
            package.folder
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_package_names_folder_and_script() {
        let dir = tempfile::tempdir().unwrap();
        let message = package_dir(dir.path(), &GOOGLE).unwrap_err().to_string();
        assert!(
            message.contains("emoji-datasource-google/package"),
            "{message}"
        );
        assert!(message.contains("scripts/fetch-data.sh"), "{message}");
    }
}
