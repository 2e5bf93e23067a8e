"""The pure core of bed detection: detector, classification, sleep periods. No I/O, no clock."""
