"""The test suite, by layer; a package so that bench/ imports tests.harness from the repository root."""
