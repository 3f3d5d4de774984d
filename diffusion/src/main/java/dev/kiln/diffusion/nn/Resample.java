package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** diffusers' {@code Downsample2D} / {@code Upsample2D} with their convolution ({@code <name>.conv}). */
public final class Resample {

    private Resample() {
    }

    /**
     * Halves H and W with a 3x3 stride-2 conv. {@code padding 0} is the VAE encoder's variant: pad right and
     * bottom by one, then convolve without padding; otherwise the conv pads symmetrically.
     */
    public static NDArray down(Layers layers, String name, NDArray x, int padding) {
        if (padding == 0) {
            return Scopes.scoped(() -> layers.conv2d(name + ".conv", x.pad(new Shape(0, 1, 0, 1), 0), 2, 0));
        }
        return layers.conv2d(name + ".conv", x, 2, padding);
    }

    /** Nearest-neighbour resize to {@code height x width} (normally 2x), then a 3x3 conv. */
    public static NDArray up(Layers layers, String name, NDArray x, long height, long width) {
        return Scopes.scoped(() -> {
            NDArray resized = x.getNDArrayInternal().interpolation(new long[] {height, width}, 0, false);
            return layers.conv2d(name + ".conv", resized, 1, 1);
        });
    }
}
