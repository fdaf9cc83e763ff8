"""Keras Model Inspector core: loading, describing and analysing saved Keras models.

Nothing in this package imports Qt. Modules that need TensorFlow import it themselves, so that
importing the keras-free parts (model descriptions, graph layout) stays fast.
"""

import os

# TensorFlow prints C++ log noise at import unless told otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
