package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/** Reshapes between feature maps {@code [B,C,H,W]} and token sequences {@code [B,H*W,C]} for attention. */
public final class Tokens {

    private Tokens() {
    }

    /** {@code [B,C,H,W] -> [B,H*W,C]}. */
    public static NDArray fromImage(NDArray x) {
        long[] s = x.getShape().getShape();
        return x.transpose(0, 2, 3, 1).reshape(s[0], s[2] * s[3], s[1]);
    }

    /** {@code [B,H*W,C] -> [B,C,H,W]}. */
    public static NDArray toImage(NDArray x, long height, long width) {
        long[] s = x.getShape().getShape();
        return x.reshape(s[0], height, width, s[2]).transpose(0, 3, 1, 2);
    }
}
