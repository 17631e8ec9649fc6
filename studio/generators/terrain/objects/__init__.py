"""Objects on the land: a seeded low-poly asset library, where each kind may stand, blue-noise placement, and
the instanced GLB nodes and ``objects.csv`` that carry them to engines."""
