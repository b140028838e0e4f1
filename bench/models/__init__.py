"""Host-side reference models of the firmware images (bit-exact numpy mirrors) and helpers."""
