//! The signing keys of a local run: access tokens (`PARLEY_JWT_KEYS`) and chatbots' identity
//! secrets (`PARLEY_IDENTITY_KEYS`).
//!
//! With a data directory they are made once and kept in `keys.env` there (readable by its owner
//! only), so sessions, chatroom tokens and identity secrets outlive a restart; without one they
//! are made per process. Either way every part of the runner reads the same keys, and they are
//! never printed. Keys set in the environment win.

use std::{
    fs,
    io::Write as _,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use shared::{
    auth::{AuthConfig, IdentityKeys, secret::random_token},
    config::ConfigError,
};

const FILE: &str = "keys.env";

/// The key variables, as `(name, value)` pairs: read from `data_dir/keys.env`, made there when
/// missing, or made for this process when there is no data directory.
pub fn load_or_create(data_dir: Option<&Path>) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(dir) = data_dir else { return Ok(fresh()) };
    let path = file(dir);
    let failed = |what: &str, err: std::io::Error| ConfigError {
        var: "PARLEY_DATA_DIR".into(),
        reason: format!("could not {what} {}: {err}", path.display()),
    };
    match fs::read_to_string(&path) {
        Ok(text) => parse(&text).ok_or_else(|| ConfigError {
            var: "PARLEY_DATA_DIR".into(),
            reason: format!("{} is not a keys file Parley wrote; move it away to make new keys", path.display()),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| failed("create the folder of", e))?;
            let keys = fresh();
            let text: String = keys.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| failed("create", e))?;
            file.write_all(text.as_bytes()).map_err(|e| failed("write", e))?;
            Ok(keys)
        }
        Err(err) => Err(failed("read", err)),
    }
}

/// Where the keys file of `data_dir` is.
pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

fn fresh() -> Vec<(String, String)> {
    [AuthConfig::KEYS_VAR, IdentityKeys::VAR]
        .map(|name| (name.to_owned(), format!("local-1:{}", random_token())))
        .into()
}

fn parse(text: &str) -> Option<Vec<(String, String)>> {
    let keys: Vec<(String, String)> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_once('=').map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned())))
        .collect::<Option<_>>()?;
    let names: Vec<&str> = keys.iter().map(|(name, _)| name.as_str()).collect();
    (names == [AuthConfig::KEYS_VAR, IdentityKeys::VAR]).then_some(keys)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn keys_are_made_once_kept_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("parley-keys-{}", random_token()));
        let made = load_or_create(Some(&dir)).unwrap();
        assert_eq!(made.len(), 2);
        assert!(made.iter().all(|(_, value)| value.len() > 40), "long random secrets");
        let mode = fs::metadata(file(&dir)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the owner reads the keys");
        assert_eq!(load_or_create(Some(&dir)).unwrap(), made, "the same keys on the next start");
        fs::write(file(&dir), "junk").unwrap();
        let err = load_or_create(Some(&dir)).unwrap_err();
        assert!(!err.to_string().contains("junk"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
        assert_ne!(fresh(), fresh(), "without a data directory, new keys per process");
    }
}
