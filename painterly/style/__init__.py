"""Style transfer (Gatys et al.): options, losses, the tiled evaluation, the coarse-to-fine
schedule, memory planning, the artistic controls (colour, regions, presets), traces, and
:func:`painterly.style.transfer.transfer`, the main job. The public names are re-exported by
:mod:`painterly`."""
