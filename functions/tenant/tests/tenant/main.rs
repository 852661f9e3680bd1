//! Integration tests of the tenant function on the real services that `scripts/test` starts.

mod health;
mod startup;
