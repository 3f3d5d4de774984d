package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;

/** Activation functions used by Stable Diffusion models, all differentiable NDArray ops. */
public final class Activations {

    private Activations() {
    }

    /** SiLU / swish: {@code x * sigmoid(x)}. */
    public static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** Exact (erf) GELU, as torch's default {@code F.gelu}. */
    public static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }

    /** CLIP's quick_gelu: {@code x * sigmoid(1.702 x)}. */
    public static NDArray quickGelu(NDArray x) {
        return x.mul(Activation.sigmoid(ScalarOps.mul(x, 1.702f)));
    }

    /**
     * GEGLU gate applied to an already projected tensor: split the last axis into halves {@code (a, gate)} and
     * return {@code a * gelu(gate)} (exact erf GELU).
     */
    public static NDArray geglu(NDArray projected) {
        NDList halves = projected.split(2, projected.getShape().dimension() - 1);
        return halves.get(0).mul(gelu(halves.get(1)));
    }

    /** Applies the activation named by a diffusers/transformers config ({@code silu}, {@code swish},
     *  {@code gelu}, {@code quick_gelu}). */
    public static NDArray byName(String name, NDArray x) {
        return switch (name) {
            case "silu", "swish" -> silu(x);
            case "gelu" -> gelu(x);
            case "quick_gelu" -> quickGelu(x);
            default -> throw new IllegalArgumentException("unsupported activation function '" + name + "'");
        };
    }
}
