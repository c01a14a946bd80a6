"""The CNN lecture's experiments on VGG-19: content and style reconstructions, feature maps,
filters, result grids and weight sweeps, and per-layer summaries of a model."""
