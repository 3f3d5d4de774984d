package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * Multiplication and division by a constant that stay correct under autograd on CPU.
 *
 * <p>DJL's {@code x.mul(Number)} makes the constant a tensor over a Java direct buffer ({@code torch::from_blob})
 * and closes it right after the op. libtorch's backward of {@code mul}/{@code div} keeps that tensor to compute the
 * gradient, but the buffer under it is freed once Java collects it: a backward pass that runs after a garbage
 * collection reads freed memory and gradients turn into garbage (seen as sporadic Inf/NaN in training). Here the
 * constant is copied into libtorch-owned memory first, which autograd then keeps alive for as long as it needs it.
 */
public final class ScalarOps {

    private ScalarOps() {
    }

    /** {@code x * value}, safe to differentiate. */
    public static NDArray mul(NDArray x, float value) {
        if (value == 1f) {
            return x;
        }
        try (NDArray owned = constant(x, value)) {
            return x.mul(owned);
        }
    }

    /** {@code x / value}, safe to differentiate. */
    public static NDArray div(NDArray x, float value) {
        if (value == 1f) {
            return x;
        }
        try (NDArray owned = constant(x, value)) {
            return x.div(owned);
        }
    }

    private static NDArray constant(NDArray like, float value) {
        // duplicate() is a clone into libtorch memory; toType(same type) would hand back the Java-backed storage
        try (NDArray javaBacked = like.getManager().create(value)) {
            NDArray owned = javaBacked.duplicate();
            if (owned.getDataType() == like.getDataType() && owned.getDevice().equals(like.getDevice())) {
                return owned;
            }
            try (owned) {
                return owned.toType(like.getDataType(), false).toDevice(like.getDevice(), false).duplicate();
            }
        }
    }
}
