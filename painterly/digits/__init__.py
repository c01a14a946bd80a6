"""The lecture's MNIST digit classifier: the IDX data (:mod:`~painterly.digits.mnist`), training,
evaluation and prediction (:mod:`~painterly.digits.training`) and its pictures
(:mod:`~painterly.digits.pictures`)."""
