"""The catalog: what can be sold and how it is fulfilled (specifications, offerings, task
templates, relationships), the extension points packs implement, and the registry of what the
installed packs contributed."""
