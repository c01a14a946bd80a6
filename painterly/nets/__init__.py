"""The networks: VGG-19 with the paper's layer names, the lecture's digit CNN, their building
blocks (pooling kinds, activations), and where they run (device, number format)."""
