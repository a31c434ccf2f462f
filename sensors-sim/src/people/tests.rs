//! People tests.
