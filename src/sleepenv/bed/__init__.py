"""Bed detection: sensor payloads in; movements, nights and Home Assistant entities out."""
