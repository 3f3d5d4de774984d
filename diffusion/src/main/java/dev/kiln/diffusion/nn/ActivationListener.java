package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * Receives intermediate outputs of a forward pass by diffusers module name (the names PyTorch forward hooks
 * would use, e.g. {@code mid_block}). The array is closed when its block's scope ends: copy what you keep.
 */
@FunctionalInterface
public interface ActivationListener {

    /** The listener that ignores everything. */
    ActivationListener NONE = (name, value) -> { };

    void onActivation(String name, NDArray value);
}
