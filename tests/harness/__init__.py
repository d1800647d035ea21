"""What the tests and bench/ share: the kernel harness (`kernel`) and the fault-injecting proxy (`chaos`)."""
