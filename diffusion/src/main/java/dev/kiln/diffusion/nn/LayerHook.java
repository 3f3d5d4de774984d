package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * Hook around every Linear/Conv2d of a model, keyed by the module's diffusers name: the point where a LoRA
 * network adds {@code multiplier * scale * up(down(x))} to the base output.
 */
@FunctionalInterface
public interface LayerHook {

    /** The hook that leaves every layer unchanged. */
    LayerHook NONE = (call, output) -> output;

    /** Returns the layer's output given its base output; return {@code output} itself to leave it unchanged. */
    NDArray apply(LayerCall call, NDArray output);
}
