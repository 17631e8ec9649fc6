"""The Terrain tab's generator: procedural terrain steered by the prompt."""
