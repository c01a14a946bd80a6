"""Files in and out: images (load, resize, save), figures (labelled grids), and the one atomic
writer every output goes through (:mod:`painterly.io.files`)."""
