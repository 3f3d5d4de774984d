package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * One call of a weighted layer (Linear or Conv2d), as seen by a {@link LayerHook}.
 *
 * @param name    the module's diffusers name, e.g. {@code down_blocks.0.resnets.0.conv1}
 * @param input   the layer's input
 * @param weight  the layer's base weight ([out,in] for Linear, [out,in,kh,kw] for Conv2d)
 * @param stride  conv stride (1 for Linear)
 * @param padding conv padding (0 for Linear)
 */
public record LayerCall(String name, NDArray input, NDArray weight, int stride, int padding) {

    /** True for a Conv2d call, false for a Linear call. */
    public boolean isConv() {
        return weight.getShape().dimension() == 4;
    }
}
