"""The Home Assistant add-on start-up: options and the Supervisor's MQTT service to settings."""
