//! Passwords (argon2) and bearer tokens (random, stored only as sha256).

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The fewest characters a password may have (every way of setting one:
/// `user add`, the join and reset pages).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most: argon2 takes any length, but a page must not hash megabytes.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Why a password cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password has at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

pub fn check_password(password: &str) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    Ok(())
}

/// `check_password` with its reason as text (the admin commands' and the
/// API's errors).
pub fn check_new_password(password: &str) -> Result<(), String> {
    check_password(password).map_err(|e| e.to_string())
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_in(password, hash, &mut HashMemory::new())
}

/// Argon2's working memory (~19 MiB with the default parameters). The
/// server keeps one per concurrent check and uses it again: allocated per
/// check, glibc kept a freed copy in each of its arenas, and memory grew
/// with every thread that had ever checked a password.
pub type HashMemory = Vec<Block>;

/// `verify_password` in memory of the caller's (grown as the hash's parameters need).
pub fn verify_password_in(password: &str, hash: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected), Ok(params)) = (parsed.salt, parsed.hash, Params::try_from(&parsed)) else {
        return false;
    };
    let (Ok(algorithm), Ok(version)) =
        (Algorithm::try_from(parsed.algorithm), parsed.version.map(Version::try_from).transpose())
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    memory.resize(params.block_count(), Block::default());
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    // Output compares in constant time.
    Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])?)
    })
    .is_ok_and(|computed| computed == expected)
}

/// A hash to verify against when the email is unknown, so that an unknown
/// email takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-matches").expect("hashing works"))
}

/// A new bearer token: 32 random bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn memory_used_again_verifies_the_same() {
        let hash = hash_password("correct horse").unwrap();
        let other = hash_password("battery staple").unwrap();
        let mut memory = HashMemory::new();
        for _ in 0..2 {
            assert!(verify_password_in("correct horse", &hash, &mut memory));
            assert!(!verify_password_in("correct horse", &other, &mut memory));
            assert!(verify_password_in("battery staple", &other, &mut memory));
            assert!(!verify_password_in("", &hash, &mut memory));
        }
        assert_eq!(memory.len(), Params::default().block_count(), "sized by the hash's parameters");
        // The same answers as the argon2 crate's own verifier.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"battery staple", &parsed).is_err());
    }
}
