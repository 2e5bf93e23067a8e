"""Sleep-hygiene guidance: the bedroom's schedule, devices and entities."""
