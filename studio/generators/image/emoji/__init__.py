"""The built-in emoji models: their networks, their diffusers pipeline and the MiniLM prompt encoder."""
