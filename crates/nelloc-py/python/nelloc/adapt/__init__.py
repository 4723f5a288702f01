"""Fine-tune a NeLLoC model on a collection of images: ``python -m nelloc.adapt``.

Needs the ``adapt`` extra (``pip install 'nelloc[adapt]'``: PyTorch, safetensors,
Pillow). The modules here import only NumPy at import time and use relative imports
only: ``training/`` imports this directory as the top-level package ``adapt`` (the same
network, sampler and integer export), without the native extension.

* ``nn``: the network, contexts, predictors, head likelihoods;
* ``sampler``: independent pixels with their causal contexts;
* ``quant``: the integer export, its NumPy simulation, model files, ``dequantise``;
* ``images``: reading a collection (PNG, TIFF, JPEG, PNM) with clear errors;
* ``cli``: the command (``python -m nelloc.adapt --help``).
"""
