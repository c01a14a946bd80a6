"""Pixel optimization: painterly's bounded L-BFGS-B (a pure leaf: tensors in, tensors out) and the
loop that drives it or Adam on an objective, with progress, stopping and Ctrl-C."""
