//! This exercise is being written.
