package dev.kiln.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.ActivationListener;
import dev.kiln.diffusion.nn.Activations;
import dev.kiln.diffusion.nn.FlopCounter;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.nn.Layers;
import dev.kiln.diffusion.nn.ResnetBlock2D;
import dev.kiln.diffusion.nn.Resample;
import dev.kiln.diffusion.nn.Scopes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * diffusers' {@code UNet2DConditionModel} (SD 1.x / 2.x family) as a functional forward pass over a weight
 * map with diffusers key names. The architecture comes entirely from {@link UNetConfig}: block counts and
 * types, channels, heads per block, transformer depth, linear or conv projections, cross-attention width.
 *
 * <p>Forward is built from differentiable NDArray ops only. Each block runs in its own NDScope so inference
 * frees intermediates as it goes; under a GradientCollector PyTorch's graph keeps what backward needs.
 * Instances are immutable and cheap; {@code with*} methods return configured copies sharing the weights.
 */
public final class UNet2DConditionModel {

    private final UNetConfig config;
    private final Layers layers;

    /**
     * A UNet over float32 {@code weights} keyed by diffusers names.
     *
     * @throws IllegalArgumentException naming the parameters that are missing or shaped unlike the config
     */
    public UNet2DConditionModel(UNetConfig config, Map<String, NDArray> weights) {
        this(config, new Layers("UNet", weights));
        UNetParameters.validate(config, weights);
    }

    private UNet2DConditionModel(UNetConfig config, Layers layers) {
        this.config = config;
        this.layers = layers;
    }

    public UNetConfig config() {
        return config;
    }

    /** The weight map (diffusers names). */
    public Map<String, NDArray> weights() {
        return layers.weights();
    }

    /** A copy whose every Linear/Conv2d output passes through {@code hook} (the LoRA injection point). */
    public UNet2DConditionModel withLayerHook(LayerHook hook) {
        return new UNet2DConditionModel(config, layers.withHook(hook));
    }

    /** A copy whose attention computes at most {@code bytes} of scores at once ({@code <= 0}: unchunked). */
    public UNet2DConditionModel withAttentionChunkBytes(long bytes) {
        return new UNet2DConditionModel(config, layers.withAttentionChunkBytes(bytes));
    }

    /** A copy that adds the FLOPs of its linear, conv and attention matmuls to {@code counter}. */
    public UNet2DConditionModel withFlopCounter(FlopCounter counter) {
        return new UNet2DConditionModel(config, layers.withFlopCounter(counter));
    }

    /** Predicts noise (or v) for {@code sample [B,C,H,W]} at {@code timesteps} ({@code [B]} or one value,
     *  int or float) given {@code encoderHiddenStates [B,L,D]}. */
    public NDArray forward(NDArray sample, NDArray timesteps, NDArray encoderHiddenStates) {
        return forward(sample, timesteps, encoderHiddenStates, ActivationListener.NONE);
    }

    /** As {@link #forward(NDArray, NDArray, NDArray)}, reporting block outputs by diffusers module name. */
    public NDArray forward(NDArray sample, NDArray timesteps, NDArray encoderHiddenStates,
                           ActivationListener listener) {
        Shape s = sample.getShape();
        if (s.dimension() != 4 || s.get(1) != config.inChannels()) {
            throw new IllegalArgumentException("UNet sample must be [B," + config.inChannels() + ",H,W], got " + s);
        }
        Shape e = encoderHiddenStates.getShape();
        if (e.dimension() != 3 || e.get(0) != s.get(0)) {
            throw new IllegalArgumentException("UNet encoder_hidden_states must be [" + s.get(0) + ",L,D], got " + e);
        }
        return Scopes.scoped(() -> new Pass(listener).run(sample, timesteps, encoderHiddenStates));
    }

    /** Sinusoidal timestep embedding {@code [B, dim]} (diffusers {@code get_timestep_embedding}, float32). */
    static NDArray timestepEmbedding(NDArray timesteps, int dim, boolean flipSinToCos, float freqShift) {
        NDManager m = timesteps.getManager();
        int half = dim / 2;
        NDArray exponent = m.arange(0f, (float) half, 1f, DataType.FLOAT32)
                .mul((float) -Math.log(10000.0)).div(half - freqShift);
        NDArray args = timesteps.reshape(-1, 1).mul(exponent.exp().reshape(1, half));
        NDArray sin = args.sin();
        NDArray cos = args.cos();
        NDArray emb = flipSinToCos ? NDArrays.concat(new NDList(cos, sin), 1) : NDArrays.concat(new NDList(sin, cos), 1);
        if (dim % 2 == 1) {
            emb = emb.pad(new Shape(0, 1), 0);
        }
        return emb;
    }

    /** One forward pass: holds the listener and the pieces shared by all blocks. */
    private final class Pass {
        private final ActivationListener listener;
        private final Transformer2D transformer;

        Pass(ActivationListener listener) {
            this.listener = listener;
            this.transformer = new Transformer2D(layers, listener, config.normNumGroups(),
                    config.useLinearProjection(), config.upcastAttention());
        }

        NDArray run(NDArray sample, NDArray timesteps, NDArray context) {
            long batch = sample.getShape().get(0);
            NDArray x = config.centerInputSample() ? sample.mul(2f).sub(1f) : sample;
            NDArray tembSilu = Activations.silu(timeEmbedding(timesteps, batch));

            NDArray h = layers.conv2d("conv_in", x, 1, (config.convInKernel() - 1) / 2);
            listener.onActivation("conv_in", h);
            List<NDArray> skips = new ArrayList<>();
            skips.add(h);
            int n = config.blockCount();
            for (int i = 0; i < n; i++) {
                NDList out = downBlock(i, h, tembSilu, context);
                h = out.get(out.size() - 1);
                skips.addAll(out);
            }
            if (config.midBlockType() != null) {
                h = midBlock(h, tembSilu, context);
                listener.onActivation("mid_block", h);
            }
            for (int i = 0; i < n; i++) {
                h = upBlock(i, h, skips, tembSilu, context);
                listener.onActivation("up_blocks." + i, h);
            }
            NDArray normed = layers.groupNorm("conv_norm_out", h, config.normNumGroups(), config.normEps());
            listener.onActivation("conv_norm_out", normed);
            return layers.conv2d("conv_out", Activations.silu(normed), 1, (config.convOutKernel() - 1) / 2);
        }

        private NDArray timeEmbedding(NDArray timesteps, long batch) {
            return Scopes.scoped(() -> {
                NDArray t = timesteps.toType(DataType.FLOAT32, false).reshape(-1);
                if (t.size() == 1 && batch > 1) {
                    t = t.broadcast(new Shape(batch));
                } else if (t.size() != batch) {
                    throw new IllegalArgumentException("UNet timesteps must hold 1 or " + batch + " values, got "
                            + timesteps.getShape());
                }
                NDArray proj = timestepEmbedding(t, config.blockOutChannels()[0], config.flipSinToCos(),
                        config.freqShift());
                listener.onActivation("time_proj", proj);
                NDArray emb = layers.linear("time_embedding.linear_2",
                        Activations.silu(layers.linear("time_embedding.linear_1", proj)));
                listener.onActivation("time_embedding", emb);
                return emb;
            });
        }

        private NDArray resnet(String name, NDArray x, NDArray tembSilu, float outputScale) {
            NDArray out = ResnetBlock2D.forward(layers, name, x, tembSilu, config.normNumGroups(),
                    config.normEps(), outputScale);
            listener.onActivation(name, out);
            return out;
        }

        private NDArray attention(String name, NDArray x, NDArray context, int heads, int depth, boolean crossOnly) {
            NDArray out = transformer.forward(name, x, context, heads, depth, crossOnly);
            listener.onActivation(name, out);
            return out;
        }

        /** Returns the block's skip tensors; the last one is also its output. */
        private NDList downBlock(int i, NDArray input, NDArray tembSilu, NDArray context) {
            String name = "down_blocks." + i;
            boolean cross = config.downBlockTypes().get(i).equals("CrossAttnDownBlock2D");
            NDList out = Scopes.scopedAll(() -> {
                NDList res = new NDList();
                NDArray h = input;
                for (int j = 0; j < config.layersPerBlock()[i]; j++) {
                    h = resnet(name + ".resnets." + j, h, tembSilu, config.resnetOutScaleFactor());
                    if (cross) {
                        h = attention(name + ".attentions." + j, h, context, config.heads()[i],
                                config.transformerLayersPerBlock()[i], config.onlyCrossAttention()[i]);
                    }
                    res.add(h);
                }
                if (i < config.blockCount() - 1) {
                    h = Resample.down(layers, name + ".downsamplers.0", h, config.downsamplePadding());
                    res.add(h);
                }
                return res;
            });
            for (int k = 0; k < out.size(); k++) {
                listener.onActivation(name + ".res" + k, out.get(k));
            }
            listener.onActivation(name + ".out", out.get(out.size() - 1));
            return out;
        }

        private NDArray midBlock(NDArray input, NDArray tembSilu, NDArray context) {
            int last = config.blockCount() - 1;
            return Scopes.scoped(() -> {
                NDArray h = resnet("mid_block.resnets.0", input, tembSilu, config.midBlockScaleFactor());
                h = attention("mid_block.attentions.0", h, context, config.heads()[last],
                        config.transformerLayersPerBlock()[last], false);
                return resnet("mid_block.resnets.1", h, tembSilu, config.midBlockScaleFactor());
            });
        }

        /** Consumes this block's skip tensors from the end of {@code skips}. */
        private NDArray upBlock(int i, NDArray input, List<NDArray> skips, NDArray tembSilu, NDArray context) {
            int n = config.blockCount();
            int down = n - 1 - i; // the down block whose settings this up block mirrors
            String name = "up_blocks." + i;
            boolean cross = config.upBlockTypes().get(i).equals("CrossAttnUpBlock2D");
            int resnets = config.layersPerBlock()[down] + 1;
            if (skips.size() < resnets) {
                throw new IllegalStateException("UNet up block " + i + " needs " + resnets + " skip tensors, "
                        + skips.size() + " left: down and up block layouts do not match");
            }
            List<NDArray> mine = new ArrayList<>(skips.subList(skips.size() - resnets, skips.size()));
            skips.subList(skips.size() - resnets, skips.size()).clear();
            // upsample to the next skip's size: equals 2x for even sizes and handles odd latent sizes
            Shape target = i < n - 1 ? skips.get(skips.size() - 1).getShape() : null;
            NDArray out = Scopes.scoped(() -> {
                NDArray h = input;
                for (int j = 0; j < resnets; j++) {
                    NDArray skip = mine.get(mine.size() - 1 - j);
                    h = resnet(name + ".resnets." + j, NDArrays.concat(new NDList(h, skip), 1), tembSilu,
                            config.resnetOutScaleFactor());
                    if (cross) {
                        h = attention(name + ".attentions." + j, h, context, config.heads()[down],
                                config.transformerLayersPerBlock()[down], config.onlyCrossAttention()[down]);
                    }
                }
                if (target != null) {
                    h = Resample.up(layers, name + ".upsamplers.0", h, target.get(2), target.get(3));
                }
                return h;
            });
            mine.forEach(NDArray::close); // consumed: free them now rather than at the end of the pass
            return out;
        }
    }
}
