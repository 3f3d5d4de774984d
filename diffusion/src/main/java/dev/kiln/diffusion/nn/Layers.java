package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * Functional layers over a weight map keyed by diffusers names ({@code <module>.weight}, {@code <module>.bias}).
 * Every Linear and Conv2d of a model goes through {@link #linear} / {@link #conv2d}, which pass through the
 * {@link LayerHook} so a LoRA network can wrap any module by name. Missing weights and mismatched widths fail
 * with the module's name.
 */
public final class Layers {

    private final String owner;
    private final Map<String, NDArray> weights;
    private final LayerHook hook;
    private final long attentionChunkBytes;
    private final FlopCounter flops;

    /**
     * @param owner   the model's name, used in error messages (e.g. {@code "UNet"})
     * @param weights float32 weights keyed by diffusers names
     */
    public Layers(String owner, Map<String, NDArray> weights) {
        this(owner, weights, LayerHook.NONE, Attention.DEFAULT_CHUNK_BYTES, null);
    }

    private Layers(String owner, Map<String, NDArray> weights, LayerHook hook, long attentionChunkBytes,
                   FlopCounter flops) {
        this.owner = Objects.requireNonNull(owner);
        this.weights = Objects.requireNonNull(weights);
        this.hook = Objects.requireNonNull(hook);
        this.attentionChunkBytes = attentionChunkBytes;
        this.flops = flops;
    }

    /** A copy that routes every Linear/Conv2d output through {@code hook}. */
    public Layers withHook(LayerHook hook) {
        return new Layers(owner, weights, hook, attentionChunkBytes, flops);
    }

    /** A copy whose attention computes at most {@code bytes} of scores at once ({@code <= 0}: unchunked). */
    public Layers withAttentionChunkBytes(long bytes) {
        return new Layers(owner, weights, hook, bytes, flops);
    }

    /** A copy that adds the FLOPs of every linear, conv and attention matmul to {@code counter}. */
    public Layers withFlopCounter(FlopCounter counter) {
        return new Layers(owner, weights, hook, attentionChunkBytes, counter);
    }

    public Map<String, NDArray> weights() {
        return weights;
    }

    public boolean has(String key) {
        return weights.containsKey(key);
    }

    /** The weight named {@code key}; fails naming the key when it is absent. */
    public NDArray weight(String key) {
        NDArray w = weights.get(key);
        if (w == null) {
            throw new IllegalArgumentException(owner + " weight '" + key + "' is missing");
        }
        return w;
    }

    /** {@code x W^T + b} over the last axis of {@code x}; bias optional. */
    public NDArray linear(String name, NDArray x) {
        NDArray w = weight(name + ".weight");
        NDArray b = weights.get(name + ".bias");
        long in = x.getShape().get(x.getShape().dimension() - 1);
        if (w.getShape().dimension() != 2 || w.getShape().get(1) != in) {
            throw new IllegalArgumentException(owner + " layer '" + name + "': weight shape " + w.getShape()
                    + " does not take input width " + in);
        }
        if (flops != null) {
            flops.add(2L * x.size() * w.getShape().get(0));
        }
        NDArray out = x.getNDArrayInternal().linear(x, w, b).head();
        return hook.apply(new LayerCall(name, x, w, 1, 0), out);
    }

    /** 2-D convolution {@code [N,C,H,W]} with a square kernel, the given stride and symmetric zero padding. */
    public NDArray conv2d(String name, NDArray x, int stride, int padding) {
        NDArray w = weight(name + ".weight");
        NDArray b = weights.get(name + ".bias");
        if (w.getShape().dimension() != 4 || x.getShape().dimension() != 4
                || w.getShape().get(1) != x.getShape().get(1)) {
            throw new IllegalArgumentException(owner + " layer '" + name + "': weight shape " + w.getShape()
                    + " does not take input " + x.getShape());
        }
        NDArray out = convolution(x, w, b, stride, padding);
        if (flops != null) {
            Shape ws = w.getShape();
            flops.add(2L * out.size() * ws.get(1) * ws.get(2) * ws.get(3));
        }
        return hook.apply(new LayerCall(name, x, w, stride, padding), out);
    }

    /**
     * Channel counts are zero-padded to this multiple on CPU before convolving. libtorch 2.7.1's oneDNN 3.7.1
     * AVX-512 direct convolution ({@code jit:avx512_core}, 16-channel blocked layouts) reads the unzeroed tail
     * of a partially filled channel block when a convolution's input side (the source forward, the output
     * gradient in backward-data) has a channel count that is not a multiple of 16 and lands in a blocked
     * layout: the forward output or the input gradient then comes out wrong or NaN, varying from call to call
     * with whatever that memory held (e.g. a [2,24,6,10] 3x3 forward, a [2,8,4,4] 3x3 input gradient).
     * Zero channels contribute exactly nothing, so padding them explicitly keeps oneDNN on full blocks.
     */
    static final int CPU_CHANNEL_BLOCK = 16;

    /**
     * PyTorch's 2-D convolution (square stride/padding, dilation 1, one group; {@code b} may be null), with
     * in/out channels zero-padded to full oneDNN blocks on CPU; see {@link #CPU_CHANNEL_BLOCK}. Every raw
     * convolution in the project should go through this rather than {@code NDArrayEx.convolution}.
     */
    public static NDArray convolution(NDArray x, NDArray w, NDArray b, int stride, int padding) {
        Shape stride2 = new Shape(stride, stride);
        Shape padding2 = new Shape(padding, padding);
        Shape dilation = new Shape(1, 1);
        long in = w.getShape().get(1);
        long outChannels = w.getShape().get(0);
        long padIn = pad(in);
        long padOut = pad(outChannels);
        if (x.getDevice().isGpu() || (padIn == 0 && padOut == 0)) {
            return x.getNDArrayInternal().convolution(x, w, b, stride2, padding2, dilation, 1).head();
        }
        // DJL's pad takes (before, after) pairs from the last axis backwards, like torch's F.pad
        try (NDArray xp = padIn == 0 ? null : x.pad(new Shape(0, 0, 0, 0, 0, padIn), 0);
             NDArray wp = w.pad(new Shape(0, 0, 0, 0, 0, padIn, 0, padOut), 0);
             NDArray bp = b == null ? null : padOut == 0 ? null : b.pad(new Shape(0, padOut), 0)) {
            NDArray xin = xp == null ? x : xp;
            NDArray bin = b == null ? null : bp == null ? b : bp;
            NDArray full = xin.getNDArrayInternal().convolution(xin, wp, bin, stride2, padding2, dilation, 1).head();
            if (padOut == 0) {
                return full;
            }
            try (full) {
                // a slice of a native (libtorch-allocated) tensor shares its refcounted storage, so closing the
                // padded output's handle is safe; autograd flows through the slice
                return full.get(":, 0:" + outChannels);
            }
        }
    }

    private static long pad(long channels) {
        long rem = channels % CPU_CHANNEL_BLOCK;
        return rem == 0 ? 0 : CPU_CHANNEL_BLOCK - rem;
    }

    /**
     * GroupNorm over axis 1 of {@code x [N,C,...]} with a per-channel affine {@code <name>.weight/.bias}.
     * DJL has no group norm: this is a layer norm over each group's flattened values (same statistics).
     */
    public NDArray groupNorm(String name, NDArray x, int groups, float eps) {
        Shape shape = x.getShape();
        long channels = shape.get(1);
        if (channels % groups != 0) {
            throw new IllegalArgumentException(owner + " layer '" + name + "': " + channels
                    + " channels are not divisible into " + groups + " groups");
        }
        NDArray gamma = weight(name + ".weight");
        NDArray beta = weight(name + ".bias");
        NDArray grouped = x.reshape(shape.get(0), groups, -1);
        long groupSize = grouped.getShape().get(2);
        NDArray normalized;
        try (NDArray ones = x.getManager().ones(new Shape(groupSize), x.getDataType());
             NDArray zeros = x.getManager().zeros(new Shape(groupSize), x.getDataType())) {
            normalized = grouped.getNDArrayInternal()
                    .layerNorm(grouped, new Shape(groupSize), ones, zeros, eps).head();
        }
        long[] affineShape = new long[shape.dimension()];
        Arrays.fill(affineShape, 1);
        affineShape[1] = channels;
        return normalized.reshape(shape).mul(gamma.reshape(affineShape)).add(beta.reshape(affineShape));
    }

    /** LayerNorm over the last axis with {@code <name>.weight/.bias}. */
    public NDArray layerNorm(String name, NDArray x, float eps) {
        NDArray gamma = weight(name + ".weight");
        NDArray beta = weight(name + ".bias");
        NDArrayEx ex = x.getNDArrayInternal();
        return ex.layerNorm(x, new Shape(gamma.getShape().get(0)), gamma, beta, eps).head();
    }

    /** Multi-head attention over projected q/k/v, chunked by this instance's budget; see {@link Attention}. */
    public NDArray attention(NDArray q, NDArray k, NDArray v, int heads, boolean upcast) {
        if (flops != null) {
            flops.add(Attention.flops(q.getShape().get(0), q.getShape().get(1), k.getShape().get(1),
                    q.getShape().get(2)));
        }
        return Attention.attend(q, k, v, heads, upcast, attentionChunkBytes);
    }
}
