"""The pure core of guidance: timeline, actions, manual overrides. No I/O, no clock."""
