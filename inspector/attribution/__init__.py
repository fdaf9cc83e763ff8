"""Attribution: which parts of an input made the model predict what it did.

``from inspector.attribution import grad_cam, integrated_gradients, saliency`` gives the methods
as plain functions of a Keras 3 model and NumPy inputs.
"""

from inspector.attribution.methods import grad_cam, integrated_gradients, saliency

__all__ = ["grad_cam", "integrated_gradients", "saliency"]
