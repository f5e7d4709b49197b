"""A simulated PBX that speaks real AMI over TCP: for the demo, the tests and the benchmark."""
