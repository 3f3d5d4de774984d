package dev.kiln.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.LayerCall;
import dev.kiln.diffusion.nn.Layers;

import java.util.Objects;

/**
 * One kohya LoRA module (sd-scripts {@code networks/lora.py} LoRAModule): a rank-r {@code down} projection and an
 * {@code up} projection added to a Linear or Conv2d, {@code y = W x + multiplier * (alpha / rank) * up(down(x))}.
 * For a conv, {@code down} is a conv with the base kernel, stride and padding and {@code up} a 1×1 conv.
 *
 * @param name  kohya module name, e.g. {@code lora_unet_mid_block_attentions_0_proj_in}
 * @param down  {@code [r, in]} or {@code [r, in, kh, kw]}
 * @param up    {@code [out, r]} or {@code [out, r, 1, 1]}
 * @param alpha the file's {@code alpha}; {@code scale = alpha / r}
 */
public record LoraModule(String name, NDArray down, NDArray up, float alpha) {

    public LoraModule {
        Objects.requireNonNull(name);
        Shape d = down.getShape();
        Shape u = up.getShape();
        boolean linear = d.dimension() == 2 && u.dimension() == 2;
        boolean conv = d.dimension() == 4 && u.dimension() == 4 && u.get(2) == 1 && u.get(3) == 1;
        if (!linear && !conv) {
            throw new IllegalArgumentException("LoRA module '" + name + "': lora_down " + d + " and lora_up " + u
                    + " are neither Linear ([r,in], [out,r]) nor Conv2d ([r,in,kh,kw], [out,r,1,1])");
        }
        if (d.get(0) != u.get(1) || d.get(0) == 0) {
            throw new IllegalArgumentException("LoRA module '" + name + "': lora_down rank " + d.get(0)
                    + " does not match lora_up rank " + u.get(1));
        }
        if (!Float.isFinite(alpha)) {
            throw new IllegalArgumentException("LoRA module '" + name + "': alpha " + alpha + " is not finite");
        }
    }

    public ModelPart part() {
        return ModelPart.of(name);
    }

    public int rank() {
        return (int) down.getShape().get(0);
    }

    /** {@code alpha / rank}. */
    public float scale() {
        return alpha / rank();
    }

    public boolean isConv() {
        return down.getShape().dimension() == 4;
    }

    /** Input features (channels) of the wrapped layer. */
    public long inFeatures() {
        return down.getShape().get(1);
    }

    /** Output features (channels) of the wrapped layer. */
    public long outFeatures() {
        return up.getShape().get(0);
    }

    /** The base weight shape this module fits: {@code [out, in]} or {@code [out, in, kh, kw]}. */
    public Shape baseWeightShape() {
        Shape d = down.getShape();
        return isConv() ? new Shape(outFeatures(), inFeatures(), d.get(2), d.get(3))
                : new Shape(outFeatures(), inFeatures());
    }

    /** {@code down(x)} for one call of the wrapped layer (same stride and padding for a conv). */
    NDArray applyDown(LayerCall call) {
        NDArray x = call.input();
        NDArrayEx ex = x.getNDArrayInternal();
        if (isConv()) {
            // through Layers.convolution: rank-r channel counts hit the oneDNN partial-block bug it works around
            return Layers.convolution(x, down, null, call.stride(), call.padding());
        }
        return ex.linear(x, down, null).head();
    }

    /** {@code up(h)} for the rank-r activations {@code h}. */
    NDArray applyUp(NDArray h) {
        NDArrayEx ex = h.getNDArrayInternal();
        if (isConv()) {
            return Layers.convolution(h, up, null, 1, 0);
        }
        return ex.linear(h, up, null).head();
    }

    /**
     * The weight delta {@code scale * up @ down} shaped like the base weight; for a k×k conv this is kohya's
     * {@code einsum(up[:, :, 0, 0], down)} over the rank axis.
     */
    public NDArray deltaWeight() {
        long rank = rank();
        NDArray upMatrix = up.reshape(outFeatures(), rank);
        NDArray downMatrix = down.reshape(rank, -1);
        return upMatrix.matMul(downMatrix).reshape(baseWeightShape()).mul(scale());
    }
}
