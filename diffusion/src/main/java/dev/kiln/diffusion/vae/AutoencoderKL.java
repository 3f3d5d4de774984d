package dev.kiln.diffusion.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.ActivationListener;
import dev.kiln.diffusion.nn.Activations;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.nn.Layers;
import dev.kiln.diffusion.nn.ResnetBlock2D;
import dev.kiln.diffusion.nn.Resample;
import dev.kiln.diffusion.nn.Scopes;
import dev.kiln.diffusion.nn.Tokens;

import java.util.Map;

/**
 * diffusers' {@code AutoencoderKL} (the SD VAE) as a functional encoder/decoder over a weight map with
 * diffusers key names ({@code encoder.*}, {@code decoder.*}, {@code quant_conv}, {@code post_quant_conv}).
 * Differentiable NDArray ops only; each block runs in its own NDScope.
 */
public final class AutoencoderKL {

    private final VaeConfig config;
    private final Layers layers;

    /**
     * A VAE over float32 {@code weights} keyed by diffusers names.
     *
     * @throws IllegalArgumentException naming the parameters that are missing or shaped unlike the config
     */
    public AutoencoderKL(VaeConfig config, Map<String, NDArray> weights) {
        this(config, new Layers("VAE", weights));
        VaeParameters.of(config).validate(weights);
    }

    private AutoencoderKL(VaeConfig config, Layers layers) {
        this.config = config;
        this.layers = layers;
    }

    public VaeConfig config() {
        return config;
    }

    /** A copy whose every Linear/Conv2d output passes through {@code hook}. */
    public AutoencoderKL withLayerHook(LayerHook hook) {
        return new AutoencoderKL(config, layers.withHook(hook));
    }

    /** A copy whose mid-block attention computes at most {@code bytes} of scores at once. */
    public AutoencoderKL withAttentionChunkBytes(long bytes) {
        return new AutoencoderKL(config, layers.withAttentionChunkBytes(bytes));
    }

    /** Encodes {@code image [B,3,H,W]} in [-1,1] (H, W multiples of {@link VaeConfig#downscaleFactor()}). */
    public LatentDistribution encode(NDArray image) {
        return encode(image, ActivationListener.NONE);
    }

    public LatentDistribution encode(NDArray image, ActivationListener listener) {
        Shape s = image.getShape();
        int f = config.downscaleFactor();
        if (s.dimension() != 4 || s.get(1) != config.inChannels() || s.get(2) % f != 0 || s.get(3) % f != 0) {
            throw new IllegalArgumentException("VAE image must be [B," + config.inChannels() + ",H,W] with H and W "
                    + "multiples of " + f + ", got " + s);
        }
        NDList moments = Scopes.scopedAll(() -> {
            NDArray h = encoder(image, listener);
            if (config.useQuantConv()) {
                h = layers.conv2d("quant_conv", h, 1, 0);
                listener.onActivation("quant_conv", h);
            }
            NDList halves = h.split(2, 1);
            return new NDList(halves.get(0), halves.get(1).clip(-30f, 20f));
        });
        return new LatentDistribution(moments.get(0), moments.get(1));
    }

    /** Decodes unscaled latents {@code [B,latent,h,w]} (divide UNet latents by the scaling factor first). */
    public NDArray decode(NDArray latents) {
        return decode(latents, ActivationListener.NONE);
    }

    public NDArray decode(NDArray latents, ActivationListener listener) {
        Shape s = latents.getShape();
        if (s.dimension() != 4 || s.get(1) != config.latentChannels()) {
            throw new IllegalArgumentException("VAE latents must be [B," + config.latentChannels() + ",h,w], got " + s);
        }
        return Scopes.scoped(() -> {
            NDArray z = latents;
            if (config.usePostQuantConv()) {
                z = layers.conv2d("post_quant_conv", z, 1, 0);
                listener.onActivation("post_quant_conv", z);
            }
            return decoder(z, listener);
        });
    }

    private NDArray encoder(NDArray image, ActivationListener listener) {
        int[] channels = config.blockOutChannels();
        NDArray h = layers.conv2d("encoder.conv_in", image, 1, 1);
        listener.onActivation("encoder.conv_in", h);
        for (int i = 0; i < channels.length; i++) {
            String name = "encoder.down_blocks." + i;
            boolean last = i == channels.length - 1;
            NDArray input = h;
            h = Scopes.scoped(() -> {
                NDArray x = input;
                for (int j = 0; j < config.layersPerBlock(); j++) {
                    x = resnet(name + ".resnets." + j, x);
                }
                return last ? x : Resample.down(layers, name + ".downsamplers.0", x, 0);
            });
            listener.onActivation(name, h);
        }
        h = midBlock("encoder.mid_block", h);
        listener.onActivation("encoder.mid_block", h);
        return outputHead("encoder", h);
    }

    private NDArray decoder(NDArray z, ActivationListener listener) {
        int[] channels = config.blockOutChannels();
        NDArray h = layers.conv2d("decoder.conv_in", z, 1, 1);
        h = midBlock("decoder.mid_block", h);
        listener.onActivation("decoder.mid_block", h);
        for (int i = 0; i < channels.length; i++) {
            String name = "decoder.up_blocks." + i;
            boolean last = i == channels.length - 1;
            NDArray input = h;
            h = Scopes.scoped(() -> {
                NDArray x = input;
                for (int j = 0; j < config.layersPerBlock() + 1; j++) {
                    x = resnet(name + ".resnets." + j, x);
                }
                Shape xs = x.getShape();
                return last ? x : Resample.up(layers, name + ".upsamplers.0", x, xs.get(2) * 2, xs.get(3) * 2);
            });
            listener.onActivation(name, h);
        }
        return outputHead("decoder", h);
    }

    /** GroupNorm, SiLU, conv_out of the encoder or decoder. */
    private NDArray outputHead(String prefix, NDArray h) {
        return Scopes.scoped(() -> layers.conv2d(prefix + ".conv_out",
                Activations.silu(layers.groupNorm(prefix + ".conv_norm_out", h, config.normNumGroups(),
                        VaeConfig.NORM_EPS)), 1, 1));
    }

    private NDArray resnet(String name, NDArray x) {
        return ResnetBlock2D.forward(layers, name, x, null, config.normNumGroups(), VaeConfig.NORM_EPS, 1f);
    }

    /** {@code UNetMidBlock2D}: resnet, single-head spatial self-attention, resnet. */
    private NDArray midBlock(String name, NDArray input) {
        return Scopes.scoped(() -> {
            NDArray h = resnet(name + ".resnets.0", input);
            if (config.midBlockAttention()) {
                h = selfAttention(name + ".attentions.0", h);
            }
            return resnet(name + ".resnets.1", h);
        });
    }

    /** diffusers {@code Attention} with group_norm and a residual, one head over all H*W positions. */
    private NDArray selfAttention(String name, NDArray x) {
        return Scopes.scoped(() -> {
            Shape s = x.getShape();
            NDArray tokens = Tokens.fromImage(
                    layers.groupNorm(name + ".group_norm", x, config.normNumGroups(), VaeConfig.NORM_EPS));
            NDArray q = layers.linear(name + ".to_q", tokens);
            NDArray k = layers.linear(name + ".to_k", tokens);
            NDArray v = layers.linear(name + ".to_v", tokens);
            NDArray out = layers.linear(name + ".to_out.0", layers.attention(q, k, v, 1, true));
            return Tokens.toImage(out, s.get(2), s.get(3)).add(x);
        });
    }
}
