"""The wire protocol: framing (COBS + CRC32), message codecs, transports, sessions.

Knows nothing of models, targets or runs (see docs/protocol.md).
"""
