//! Every exit status `faas` ends with, in one table (docs/cli.md and docs/ci.md mirror it).

/// Success.
pub const SUCCESS: i32 = 0;
/// A command failed: bad input, a failed check, an I/O error.
pub const FAILURE: i32 = 1;
/// A usage error: an unknown flag, an invalid argument (clap's status).
pub const USAGE: i32 = 2;
/// `faas pipeline`: the build stage failed (the function does not compile or is not one).
pub const BUILD: i32 = 10;
/// `faas pipeline`: the policy file is missing or invalid.
pub const POLICY: i32 = 11;
/// `faas pipeline`: the artifact does not validate (capabilities, composition, platform).
pub const VALIDATION: i32 = 12;
/// `faas pipeline`: publishing failed (registry, credentials, key).
pub const PUBLISH: i32 = 13;
/// `faas pipeline`: the published artifact's signature does not verify.
pub const VERIFY: i32 = 14;
/// `faas pipeline`: a request case or a policy probe of `faas test` failed.
pub const TEST: i32 = 15;
// `faas build` passes on cargo's own status when compilation fails (usually 101):
// `build::BuildError::exit_code`.
