//! Snapshot and update tests of the whole screen.
