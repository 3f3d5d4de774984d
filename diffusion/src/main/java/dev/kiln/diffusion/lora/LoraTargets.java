package dev.kiln.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.textencoder.ClipTextConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which layers sd-scripts' {@code networks/lora.py} wraps, found from a model's parameter names and shapes
 * (diffusers/transformers naming). Like kohya, every Linear (2-D weight) or Conv2d (4-D weight) inside a target
 * block gets a module: text encoder {@code CLIPAttention}/{@code CLIPMLP}; UNet {@code Transformer2DModel}, plus with
 * {@code conv_dim} {@code ResnetBlock2D}, {@code Downsample2D}, {@code Upsample2D}. Linear and 1×1 conv get
 * {@code network_dim}/{@code network_alpha}, k×k convs {@code conv_dim}/{@code conv_alpha}; rank 0 skips a layer.
 */
public final class LoraTargets {

    private static final String BLOCK = "(down_blocks\\.\\d+|mid_block|up_blocks\\.\\d+)";
    private static final Pattern TRANSFORMER = Pattern.compile("^" + BLOCK + "\\.attentions\\.\\d+\\..+");
    private static final Pattern CONV_BLOCKS = Pattern.compile(
            "^(" + BLOCK + "\\.resnets\\.\\d+|down_blocks\\.\\d+\\.downsamplers\\.\\d+|up_blocks\\.\\d+\\.upsamplers\\.\\d+)\\..+");
    private static final Pattern CLIP_BLOCKS = Pattern.compile("^text_model\\.encoder\\.layers\\.\\d+\\.(self_attn|mlp)\\..+");

    private LoraTargets() {
    }

    /** The UNet layers that get LoRA modules under {@code config}, in parameter order. */
    public static List<LoraTarget> unet(Map<String, Shape> parameters, LoraNetworkConfig config) {
        boolean conv = config.convDim() != null && config.convDim() > 0;
        List<LoraTarget> out = new ArrayList<>();
        forEachLayer(parameters, (path, shape) -> {
            if (TRANSFORMER.matcher(path).matches() || (conv && CONV_BLOCKS.matcher(path).matches())) {
                add(out, ModelPart.UNET, path, shape, config);
            }
        });
        return out;
    }

    /** The text-encoder layers (attention q/k/v/out projections and MLP fc1/fc2 of every layer). */
    public static List<LoraTarget> textEncoder(Map<String, Shape> parameters, LoraNetworkConfig config) {
        List<LoraTarget> out = new ArrayList<>();
        forEachLayer(parameters, (path, shape) -> {
            if (CLIP_BLOCKS.matcher(path).matches()) {
                add(out, ModelPart.TEXT_ENCODER, path, shape, config);
            }
        });
        return out;
    }

    /** Parameter shapes of a loaded weight map. */
    public static Map<String, Shape> shapes(Map<String, NDArray> weights) {
        Map<String, Shape> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> out.put(k, v.getShape()));
        return out;
    }

    /** The weight shapes of a CLIP text encoder's Linear layers, from its config. */
    public static Map<String, Shape> textEncoderShapes(ClipTextConfig config) {
        Map<String, Shape> out = new LinkedHashMap<>();
        long hidden = config.hiddenSize();
        long inner = config.intermediateSize();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String layer = "text_model.encoder.layers." + i;
            for (String proj : List.of("k_proj", "v_proj", "q_proj", "out_proj")) {
                out.put(layer + ".self_attn." + proj + ".weight", new Shape(hidden, hidden));
            }
            out.put(layer + ".mlp.fc1.weight", new Shape(inner, hidden));
            out.put(layer + ".mlp.fc2.weight", new Shape(hidden, inner));
        }
        return out;
    }

    private static void forEachLayer(Map<String, Shape> parameters, java.util.function.BiConsumer<String, Shape> f) {
        parameters.forEach((key, shape) -> {
            int dims = shape.dimension();
            if (key.endsWith(".weight") && (dims == 2 || dims == 4)) {
                f.accept(key.substring(0, key.length() - ".weight".length()), shape);
            }
        });
    }

    private static void add(List<LoraTarget> out, ModelPart part, String path, Shape shape, LoraNetworkConfig c) {
        boolean linearOrPointwise = shape.dimension() == 2 || (shape.get(2) == 1 && shape.get(3) == 1);
        Integer rank = linearOrPointwise ? Integer.valueOf(c.networkDim()) : c.convDim();
        float alpha = linearOrPointwise ? c.networkAlpha() : c.convAlpha();
        if (rank == null || rank == 0) {
            return;
        }
        out.add(new LoraTarget(part.loraName(path), path, shape, rank, LoraNetworkConfig.effectiveAlpha(alpha, rank)));
    }
}
