package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * diffusers' {@code ResnetBlock2D} ("default" time-scale-shift): GroupNorm, SiLU, 3x3 conv, plus the projected
 * time embedding, GroupNorm, SiLU, 3x3 conv, and a 1x1 {@code conv_shortcut} when the width changes.
 * Shared by the UNet (with a time embedding) and the VAE (without).
 */
public final class ResnetBlock2D {

    private ResnetBlock2D() {
    }

    /**
     * @param name        module prefix, e.g. {@code down_blocks.0.resnets.1}
     * @param x           input {@code [N,C,H,W]}
     * @param timeSilu    {@code silu(temb)} {@code [N,T]}, or {@code null} for blocks without time embedding
     * @param groups      GroupNorm groups
     * @param eps         GroupNorm epsilon
     * @param outputScale the residual sum is divided by this (diffusers' output_scale_factor)
     */
    public static NDArray forward(Layers layers, String name, NDArray x, NDArray timeSilu, int groups, float eps,
                                  float outputScale) {
        return Scopes.scoped(() -> {
            NDArray h = Activations.silu(layers.groupNorm(name + ".norm1", x, groups, eps));
            h = layers.conv2d(name + ".conv1", h, 1, 1);
            if (timeSilu != null) {
                NDArray t = layers.linear(name + ".time_emb_proj", timeSilu);
                h = h.add(t.reshape(t.getShape().get(0), t.getShape().get(1), 1, 1));
            }
            h = Activations.silu(layers.groupNorm(name + ".norm2", h, groups, eps));
            h = layers.conv2d(name + ".conv2", h, 1, 1);
            long inChannels = x.getShape().get(1);
            long outChannels = h.getShape().get(1);
            NDArray shortcut = inChannels == outChannels ? x : layers.conv2d(name + ".conv_shortcut", x, 1, 0);
            NDArray out = shortcut.add(h);
            return ScalarOps.div(out, outputScale);
        });
    }
}
