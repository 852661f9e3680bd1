//! Integration tests of the socket-node on the real services that `scripts/test` starts.

mod startup;
