package dev.kiln.diffusion.unet;

import ai.djl.ndarray.NDArray;
import dev.kiln.diffusion.nn.ActivationListener;
import dev.kiln.diffusion.nn.Activations;
import dev.kiln.diffusion.nn.Layers;
import dev.kiln.diffusion.nn.Scopes;
import dev.kiln.diffusion.nn.Tokens;

/**
 * diffusers' {@code Transformer2DModel} for continuous inputs: GroupNorm (eps 1e-6), proj_in (1x1 conv or
 * linear), {@code BasicTransformerBlock}s (self-attention, cross-attention, GEGLU feed-forward, each pre-LN
 * with a residual), proj_out, plus the input residual.
 */
final class Transformer2D {

    private static final float GROUP_NORM_EPS = 1e-6f;
    private static final float LAYER_NORM_EPS = 1e-5f;

    private final Layers layers;
    private final ActivationListener listener;
    private final int groups;
    private final boolean linearProjection;
    private final boolean upcast;

    Transformer2D(Layers layers, ActivationListener listener, int groups, boolean linearProjection, boolean upcast) {
        this.layers = layers;
        this.listener = listener;
        this.groups = groups;
        this.linearProjection = linearProjection;
        this.upcast = upcast;
    }

    /**
     * @param name         module prefix, e.g. {@code down_blocks.0.attentions.1}
     * @param x            {@code [B,C,H,W]}
     * @param context      encoder hidden states {@code [B,L,D]}
     * @param blocks       number of transformer blocks
     * @param crossOnly    attn1 attends to {@code context} as well (only_cross_attention)
     */
    NDArray forward(String name, NDArray x, NDArray context, int heads, int blocks, boolean crossOnly) {
        return Scopes.scoped(() -> {
            long height = x.getShape().get(2);
            long width = x.getShape().get(3);
            NDArray h = layers.groupNorm(name + ".norm", x, groups, GROUP_NORM_EPS);
            if (linearProjection) {
                h = layers.linear(name + ".proj_in", Tokens.fromImage(h));
            } else {
                h = layers.conv2d(name + ".proj_in", h, 1, 0);
                h = Tokens.fromImage(h);
            }
            for (int i = 0; i < blocks; i++) {
                h = basicBlock(name + ".transformer_blocks." + i, h, context, heads, crossOnly);
            }
            NDArray out;
            if (linearProjection) {
                out = Tokens.toImage(layers.linear(name + ".proj_out", h), height, width);
            } else {
                out = layers.conv2d(name + ".proj_out", Tokens.toImage(h, height, width), 1, 0);
            }
            return out.add(x);
        });
    }

    private NDArray basicBlock(String name, NDArray x, NDArray context, int heads, boolean crossOnly) {
        return Scopes.scoped(() -> {
            NDArray n1 = layers.layerNorm(name + ".norm1", x, LAYER_NORM_EPS);
            NDArray h = x.add(attention(name + ".attn1", n1, crossOnly ? context : n1, heads));
            NDArray n2 = layers.layerNorm(name + ".norm2", h, LAYER_NORM_EPS);
            h = h.add(attention(name + ".attn2", n2, context, heads));
            NDArray n3 = layers.layerNorm(name + ".norm3", h, LAYER_NORM_EPS);
            NDArray ff = layers.linear(name + ".ff.net.2",
                    Activations.geglu(layers.linear(name + ".ff.net.0.proj", n3)));
            listener.onActivation(name + ".ff", ff);
            return h.add(ff);
        });
    }

    private NDArray attention(String name, NDArray x, NDArray context, int heads) {
        NDArray q = layers.linear(name + ".to_q", x);
        NDArray k = layers.linear(name + ".to_k", context);
        NDArray v = layers.linear(name + ".to_v", context);
        NDArray out = layers.linear(name + ".to_out.0", layers.attention(q, k, v, heads, upcast));
        listener.onActivation(name, out);
        return out;
    }
}
