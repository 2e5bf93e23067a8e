"""The MQTT link: client, intake, publisher, payload checks and Home Assistant naming."""
