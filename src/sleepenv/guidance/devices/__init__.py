"""The devices guidance drives, one module per backend (Zigbee2MQTT, Home Assistant)."""
