"""The wire protocol: framing (COBS + CRC32), message codecs, transports, sessions, and fault
injection for testing them (faults, faulty, urlhandlers).

Knows nothing of models, targets or runs (see docs/protocol.md); only the measurement script
faultbench starts a target, through its driver, when asked to.
"""
