"""The pure core: decisions from readings and the current time, no I/O, no clock reads."""
