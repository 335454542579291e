"""City vital signs: devices, readings, indicators, rules and warnings."""
