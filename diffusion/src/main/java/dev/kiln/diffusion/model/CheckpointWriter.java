package dev.kiln.diffusion.model;

import ai.djl.ndarray.NDArray;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a model as an original (CompVis / Stability) single-file checkpoint: the reverse of {@link CheckpointKeys},
 * as sd-scripts' {@code model_util.save_stable_diffusion_checkpoint} does (UNet under {@code model.diffusion_model.},
 * VAE under {@code first_stage_model.} with its attention as 1×1 convolutions, the SD 1.x text encoder under
 * {@code cond_stage_model.transformer.}, SD 2.x as OpenCLIP under {@code cond_stage_model.model.} with q/k/v fused
 * and sd-scripts' dummy {@code text_projection} / {@code logit_scale}, plus a copied 24th layer for the 23-layer SD 2
 * encoder). Every name is checked against the forward conversion, so a written file loads back to the same tensors.
 */
public final class CheckpointWriter {

    private static final Pattern DOWN = Pattern.compile("down_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern UP = Pattern.compile("up_blocks\\.(\\d+)\\.(resnets|attentions|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");
    private static final Map<String, String> RESNET_PARTS = Map.of("norm1", "in_layers.0", "conv1", "in_layers.2",
            "norm2", "out_layers.0", "conv2", "out_layers.3", "time_emb_proj", "emb_layers.1",
            "conv_shortcut", "skip_connection");

    private CheckpointWriter() {
    }

    /**
     * A tensor of the checkpoint: its shape, (lazily) its float32 values, and the diffusers tensors it holds (q, k, v
     * for a fused OpenCLIP projection; none for sd-scripts' dummies).
     */
    private record Tensor(long[] shape, Supplier<float[]> values, List<String> from) {
        static Tensor of(String key, NDArray a) {
            return new Tensor(a.getShape().getShape(), a::toFloatArray, List.of(key));
        }
    }

    /**
     * Writes {@code model} (its current weights) to {@code file} with every tensor in {@code dtype} and
     * {@code metadata} as {@code __metadata__}.
     */
    public static Path write(StableDiffusionModel model, Path file, DType dtype, Map<String, String> metadata) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.putAll(unet(model.unetWeights()));
        out.putAll(model.v2() ? openClip(model.textEncoderWeights())
                : sd1Text(model.textEncoderWeights()));
        out.putAll(vae(model.vaeWeights()));
        verify(out, model);
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata(metadata);
        out.forEach((name, t) -> writer.addFloats(name, dtype, t.shape(), t.values()));
        return writer.write(file);
    }

    // ---------------------------------------------------------------- UNet

    static Map<String, Tensor> unet(Map<String, NDArray> weights) {
        int layers = (int) weights.keySet().stream().filter(k -> k.matches("down_blocks\\.0\\.resnets\\.\\d+\\.conv1\\.weight"))
                .count();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            out.put(CheckpointKeys.UNET_PREFIX + unetName(e.getKey(), layers, weights), Tensor.of(e.getKey(), e.getValue()));
        }
        return out;
    }

    private static String unetName(String key, int layers, Map<String, NDArray> weights) {
        if (key.startsWith("conv_in.")) {
            return "input_blocks.0.0." + key.substring("conv_in.".length());
        }
        if (key.startsWith("time_embedding.linear_1.")) {
            return "time_embed.0." + key.substring("time_embedding.linear_1.".length());
        }
        if (key.startsWith("time_embedding.linear_2.")) {
            return "time_embed.2." + key.substring("time_embedding.linear_2.".length());
        }
        if (key.startsWith("conv_norm_out.")) {
            return "out.0." + key.substring("conv_norm_out.".length());
        }
        if (key.startsWith("conv_out.")) {
            return "out.2." + key.substring("conv_out.".length());
        }
        Matcher m = DOWN.matcher(key);
        if (m.matches()) {
            int block = Integer.parseInt(m.group(1));
            int index = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            int base = 1 + block * (layers + 1);
            return switch (m.group(2)) {
                case "resnets" -> "input_blocks." + (base + index) + ".0." + resnetPart(rest, key);
                case "attentions" -> "input_blocks." + (base + index) + ".1." + rest;
                default -> "input_blocks." + (base + layers) + ".0.op." + stripConv(rest, key);
            };
        }
        m = UP.matcher(key);
        if (m.matches()) {
            int block = Integer.parseInt(m.group(1));
            int index = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            int base = block * (layers + 1);
            return switch (m.group(2)) {
                case "resnets" -> "output_blocks." + (base + index) + ".0." + resnetPart(rest, key);
                case "attentions" -> "output_blocks." + (base + index) + ".1." + rest;
                default -> {
                    boolean attention = weights.keySet().stream().anyMatch(k -> k.startsWith("up_blocks." + block
                            + ".attentions."));
                    yield "output_blocks." + (base + layers) + (attention ? ".2.conv." : ".1.conv.") + stripConv(rest, key);
                }
            };
        }
        m = MID.matcher(key);
        if (m.matches()) {
            String rest = m.group(3);
            if (m.group(1).equals("attentions")) {
                return "middle_block.1." + rest;
            }
            return "middle_block." + (m.group(2).equals("0") ? 0 : 2) + "." + resnetPart(rest, key);
        }
        throw new IllegalArgumentException("UNet tensor \"" + key + "\" has no place in an original checkpoint");
    }

    private static String stripConv(String rest, String key) {
        if (!rest.startsWith("conv.")) {
            throw new IllegalArgumentException("UNet tensor \"" + key + "\" has no place in an original checkpoint");
        }
        return rest.substring("conv.".length());
    }

    private static String resnetPart(String rest, String key) {
        int dot = rest.indexOf('.');
        String original = dot < 0 ? null : RESNET_PARTS.get(rest.substring(0, dot));
        if (original == null) {
            throw new IllegalArgumentException("UNet tensor \"" + key + "\" has no place in an original checkpoint");
        }
        return original + rest.substring(dot);
    }

    // ---------------------------------------------------------------- VAE

    static Map<String, Tensor> vae(Map<String, NDArray> weights) {
        int upBlocks = (int) weights.keySet().stream().filter(k -> k.matches("decoder\\.up_blocks\\.\\d+\\.resnets\\.0\\.conv1\\.weight"))
                .count();
        Map<String, Tensor> out = new LinkedHashMap<>();
        Pattern down = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|downsamplers\\.0)\\.(.+)");
        Pattern up = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|upsamplers\\.0)\\.(.+)");
        Pattern mid = Pattern.compile("(encoder|decoder)\\.mid_block\\.(resnets\\.(\\d+)|attentions\\.0)\\.(.+)");
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            String k = e.getKey();
            Tensor t = Tensor.of(e.getKey(), e.getValue());
            String name;
            Matcher m;
            if ((m = down.matcher(k)).matches()) {
                name = "encoder.down." + m.group(1) + (m.group(3) != null ? ".block." + m.group(3) + "." + vaeResnet(m.group(4))
                        : ".downsample." + m.group(4));
            } else if ((m = up.matcher(k)).matches()) {
                int block = upBlocks - 1 - Integer.parseInt(m.group(1));
                name = "decoder.up." + block + (m.group(3) != null ? ".block." + m.group(3) + "." + vaeResnet(m.group(4))
                        : ".upsample." + m.group(4));
            } else if ((m = mid.matcher(k)).matches()) {
                String prefix = m.group(1) + ".mid.";
                if (m.group(3) != null) {
                    name = prefix + (m.group(3).equals("0") ? "block_1." : "block_2.") + vaeResnet(m.group(4));
                } else {
                    String[] parts = m.group(4).split("\\.");
                    String rest = m.group(4);
                    String target;
                    if (rest.startsWith("group_norm.")) {
                        target = "norm." + rest.substring("group_norm.".length());
                    } else if (rest.startsWith("to_out.0.")) {
                        target = "proj_out." + rest.substring("to_out.0.".length());
                    } else if (parts.length == 2 && parts[0].matches("to_[qkv]")) {
                        target = parts[0].substring(3) + "." + parts[1];
                    } else {
                        throw new IllegalArgumentException("VAE tensor \"" + k + "\" has no place in an original checkpoint");
                    }
                    name = prefix + "attn_1." + target;
                    long[] s = t.shape();
                    if (!target.startsWith("norm.") && target.endsWith(".weight") && s.length == 2) {
                        t = new Tensor(new long[] {s[0], s[1], 1, 1}, t.values(), t.from()); // 1×1 convs there
                    }
                }
            } else if (k.startsWith("encoder.conv_norm_out.") || k.startsWith("decoder.conv_norm_out.")) {
                name = k.replace(".conv_norm_out.", ".norm_out.");
            } else {
                name = k;
            }
            out.put(CheckpointKeys.VAE_PREFIX + name, t);
        }
        return out;
    }

    private static String vaeResnet(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring("conv_shortcut.".length()) : rest;
    }

    // ---------------------------------------------------------------- text encoders

    static Map<String, Tensor> sd1Text(Map<String, NDArray> weights) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> out.put(CheckpointKeys.SD1_TEXT_PREFIX + k, Tensor.of(k, v)));
        return out;
    }

    static Map<String, Tensor> openClip(Map<String, NDArray> weights) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Pattern layer = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
        int layers = 0;
        long hidden = 0;
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            String k = e.getKey();
            Matcher m = layer.matcher(k);
            String name;
            if (m.matches()) {
                int index = Integer.parseInt(m.group(1));
                layers = Math.max(layers, index + 1);
                String rest = m.group(2);
                String prefix = "transformer.resblocks." + index + ".";
                if (rest.startsWith("self_attn.q_proj.")) {
                    String suffix = rest.substring("self_attn.q_proj.".length());
                    String base = "text_model.encoder.layers." + index + ".self_attn.";
                    List<NDArray> qkv = List.of(e.getValue(), weights.get(base + "k_proj." + suffix),
                            weights.get(base + "v_proj." + suffix));
                    long[] s = e.getValue().getShape().getShape().clone();
                    s[0] *= 3;
                    out.put(CheckpointKeys.OPENCLIP_TEXT_PREFIX + prefix + "attn.in_proj_" + suffix,
                            new Tensor(s, () -> concat(qkv), List.of(k, base + "k_proj." + suffix,
                                    base + "v_proj." + suffix)));
                    continue;
                }
                if (rest.startsWith("self_attn.k_proj.") || rest.startsWith("self_attn.v_proj.")) {
                    continue;
                }
                name = prefix + openClipPart(rest, k);
            } else if (k.equals("text_model.embeddings.token_embedding.weight")) {
                name = "token_embedding.weight";
                hidden = e.getValue().getShape().get(1);
            } else if (k.equals("text_model.embeddings.position_embedding.weight")) {
                name = "positional_embedding";
            } else if (k.startsWith("text_model.final_layer_norm.")) {
                name = "ln_final." + k.substring("text_model.final_layer_norm.".length());
            } else {
                throw new IllegalArgumentException("text encoder tensor \"" + k + "\" has no place in an OpenCLIP checkpoint");
            }
            out.put(CheckpointKeys.OPENCLIP_TEXT_PREFIX + name, Tensor.of(e.getKey(), e.getValue()));
        }
        if (layers == 23) {
            // SD 2's OpenCLIP has 24 blocks of which diffusers keeps 23: sd-scripts copies the last as the 24th
            String from = CheckpointKeys.OPENCLIP_TEXT_PREFIX + "transformer.resblocks.22.";
            for (Map.Entry<String, Tensor> e : new ArrayList<>(out.entrySet())) {
                if (e.getKey().startsWith(from)) {
                    out.put(e.getKey().replace(".resblocks.22.", ".resblocks.23."), e.getValue());
                }
            }
        }
        long h = hidden;
        float[] ones = new float[Math.toIntExact(h * h)];
        Arrays.fill(ones, 1f);
        out.put(CheckpointKeys.OPENCLIP_TEXT_PREFIX + "text_projection", new Tensor(new long[] {h, h}, () -> ones, List.of()));
        out.put(CheckpointKeys.OPENCLIP_TEXT_PREFIX + "logit_scale", new Tensor(new long[0], () -> new float[] {1f}, List.of()));
        return out;
    }

    private static String openClipPart(String rest, String key) {
        for (String[] p : new String[][] {{"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."}, {"mlp.fc1.", "mlp.c_fc."},
                {"mlp.fc2.", "mlp.c_proj."}, {"self_attn.out_proj.", "attn.out_proj."}}) {
            if (rest.startsWith(p[0])) {
                return p[1] + rest.substring(p[0].length());
            }
        }
        throw new IllegalArgumentException("text encoder tensor \"" + key + "\" has no place in an OpenCLIP checkpoint");
    }

    private static float[] concat(List<NDArray> parts) {
        List<float[]> values = new ArrayList<>();
        int n = 0;
        for (NDArray p : parts) {
            float[] v = p.toFloatArray();
            values.add(v);
            n += v.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] v : values) {
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    // ---------------------------------------------------------------- check

    /**
     * The forward conversion of the written names must take every written tensor back to the diffusers tensor it was
     * made from, and give every tensor of the model.
     */
    private static void verify(Map<String, Tensor> written, StableDiffusionModel model) {
        java.util.Set<String> names = written.keySet();
        check("UNet", CheckpointKeys.unet(names), model.unetWeights().keySet(), written);
        check("VAE", CheckpointKeys.vae(names), model.vaeWeights().keySet(), written);
        List<CheckpointKeys.Entry> text = names.stream().anyMatch(k -> k.startsWith(CheckpointKeys.OPENCLIP_TEXT_PREFIX))
                ? CheckpointKeys.openClipTextEncoder(names) : CheckpointKeys.sd1TextEncoder(names);
        check("text encoder", text, model.textEncoderWeights().keySet(), written);
    }

    private static void check(String part, List<CheckpointKeys.Entry> plan, java.util.Set<String> expected,
                              Map<String, Tensor> written) {
        java.util.Set<String> got = new java.util.TreeSet<>();
        for (CheckpointKeys.Entry e : plan) {
            List<String> from = written.get(e.source()).from();
            int slot = switch (e.transform()) {
                case THIRD_1 -> 1;
                case THIRD_2 -> 2;
                default -> 0;
            };
            if (from.size() <= slot || !from.get(slot).equals(e.target())) {
                throw new IllegalStateException("\"" + e.source() + "\" would load as \"" + e.target()
                        + "\" but holds " + from);
            }
            got.add(e.target());
        }
        if (!got.equals(new java.util.TreeSet<>(expected))) {
            java.util.Set<String> missing = new java.util.TreeSet<>(expected);
            missing.removeAll(got);
            java.util.Set<String> extra = new java.util.TreeSet<>(got);
            extra.removeAll(expected);
            throw new IllegalStateException(part + " tensors do not survive the original-layout round trip: missing "
                    + missing.stream().limit(5).toList() + ", unexpected " + extra.stream().limit(5).toList());
        }
    }
}
