//! End-to-end fixtures shared by the tests in `tests/tests/` and the platform benchmark.
