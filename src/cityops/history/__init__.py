"""History import and replay: bring another system's work orders into the closed loop, with their
timelines, from a CSV file and a TOML mapping (``cityops cases import``), and propose a
responsibility matrix from what was imported (``cityops responsibilities learn``)."""
