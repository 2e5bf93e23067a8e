"""Settings: the YAML models, their cross-field rules and the environment they resolve."""
