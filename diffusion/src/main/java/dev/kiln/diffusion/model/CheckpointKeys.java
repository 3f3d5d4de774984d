package dev.kiln.diffusion.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renames the tensors of an original (CompVis / Stability) single-file checkpoint to diffusers / transformers names,
 * as diffusers' {@code convert_from_ckpt.py} and sd-scripts' {@code library/model_util.py} do. The block structure is
 * read from the keys themselves (downsamplers and upsamplers mark block ends), never from a fixed layout.
 */
final class CheckpointKeys {

    static final String UNET_PREFIX = "model.diffusion_model.";
    static final String VAE_PREFIX = "first_stage_model.";
    static final String SD1_TEXT_PREFIX = "cond_stage_model.transformer.";
    static final String OPENCLIP_TEXT_PREFIX = "cond_stage_model.model.";

    /** How a source tensor becomes the target tensor. */
    enum Transform {
        COPY,
        /** VAE attention q/k/v/proj_out stored as 1×1 convs {@code [C,C,1,1]} → linear {@code [C,C]}. */
        SQUEEZE_1X1,
        /** OpenCLIP {@code in_proj_weight/bias} = cat(q, k, v) along axis 0: take one third. */
        THIRD_0, THIRD_1, THIRD_2
    }

    /** One target tensor: its diffusers name, the checkpoint tensor it comes from, and how. */
    record Entry(String target, String source, Transform transform) {
    }

    private static final Pattern INPUT_BLOCK = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern OUTPUT_BLOCK = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE_BLOCK = Pattern.compile("middle_block\\.(\\d+)\\.(.+)");
    private static final Map<String, String> RESNET_PARTS = Map.of(
            "in_layers.0", "norm1", "in_layers.2", "conv1", "out_layers.0", "norm2", "out_layers.3", "conv2",
            "emb_layers.1", "time_emb_proj", "skip_connection", "conv_shortcut");

    private CheckpointKeys() {
    }

    // ---------------------------------------------------------------- UNet

    /** Target entries for every {@code model.diffusion_model.*} tensor. */
    static List<Entry> unet(Collection<String> keys) {
        List<Entry> out = new ArrayList<>();
        Map<Integer, List<String>> inputs = new LinkedHashMap<>();
        Map<Integer, List<String>> outputs = new LinkedHashMap<>();
        for (String key : new TreeSet<>(keys)) {
            if (!key.startsWith(UNET_PREFIX)) {
                continue;
            }
            String k = key.substring(UNET_PREFIX.length());
            Matcher in = INPUT_BLOCK.matcher(k);
            Matcher outM = OUTPUT_BLOCK.matcher(k);
            Matcher mid = MIDDLE_BLOCK.matcher(k);
            if (k.startsWith("time_embed.0.")) {
                out.add(copy("time_embedding.linear_1." + k.substring("time_embed.0.".length()), key));
            } else if (k.startsWith("time_embed.2.")) {
                out.add(copy("time_embedding.linear_2." + k.substring("time_embed.2.".length()), key));
            } else if (k.startsWith("out.0.")) {
                out.add(copy("conv_norm_out." + k.substring(6), key));
            } else if (k.startsWith("out.2.")) {
                out.add(copy("conv_out." + k.substring(6), key));
            } else if (in.matches()) {
                int block = Integer.parseInt(in.group(1));
                if (block == 0) {
                    out.add(copy("conv_in." + in.group(3), key));
                } else {
                    inputs.computeIfAbsent(block, b -> new ArrayList<>()).add(key);
                }
            } else if (outM.matches()) {
                outputs.computeIfAbsent(Integer.parseInt(outM.group(1)), b -> new ArrayList<>()).add(key);
            } else if (mid.matches()) {
                int part = Integer.parseInt(mid.group(1));
                String rest = mid.group(2);
                String target = switch (part) {
                    case 0 -> "mid_block.resnets.0." + resnetPart(rest, key);
                    case 1 -> "mid_block.attentions.0." + rest;
                    case 2 -> "mid_block.resnets.1." + resnetPart(rest, key);
                    default -> throw unexpected(key);
                };
                out.add(copy(target, key));
            } else {
                throw unexpected(key);
            }
        }
        // down blocks: a downsampler ("op") closes a block
        int block = 0;
        int layer = 0;
        for (Map.Entry<Integer, List<String>> e : sortedByIndex(inputs)) {
            boolean downsampler = false;
            for (String key : e.getValue()) {
                Matcher m = INPUT_BLOCK.matcher(key.substring(UNET_PREFIX.length()));
                m.matches();
                int part = Integer.parseInt(m.group(2));
                String rest = m.group(3);
                if (part == 0 && rest.startsWith("op.")) {
                    downsampler = true;
                    out.add(copy("down_blocks." + block + ".downsamplers.0.conv." + rest.substring(3), key));
                } else if (part == 0) {
                    out.add(copy("down_blocks." + block + ".resnets." + layer + "." + resnetPart(rest, key), key));
                } else if (part == 1) {
                    out.add(copy("down_blocks." + block + ".attentions." + layer + "." + rest, key));
                } else {
                    throw unexpected(key);
                }
            }
            if (downsampler) {
                block++;
                layer = 0;
            } else {
                layer++;
            }
        }
        // up blocks: an upsampler (".conv" after the resnet, possibly after an attention) closes a block
        block = 0;
        layer = 0;
        for (Map.Entry<Integer, List<String>> e : sortedByIndex(outputs)) {
            boolean upsampler = false;
            for (String key : e.getValue()) {
                Matcher m = OUTPUT_BLOCK.matcher(key.substring(UNET_PREFIX.length()));
                m.matches();
                int part = Integer.parseInt(m.group(2));
                String rest = m.group(3);
                if (part == 0) {
                    out.add(copy("up_blocks." + block + ".resnets." + layer + "." + resnetPart(rest, key), key));
                } else if (rest.startsWith("conv.")) {
                    upsampler = true;
                    out.add(copy("up_blocks." + block + ".upsamplers.0.conv." + rest.substring(5), key));
                } else if (part == 1) {
                    out.add(copy("up_blocks." + block + ".attentions." + layer + "." + rest, key));
                } else {
                    throw unexpected(key);
                }
            }
            if (upsampler) {
                block++;
                layer = 0;
            } else {
                layer++;
            }
        }
        return out;
    }

    private static String resnetPart(String rest, String key) {
        for (Map.Entry<String, String> e : RESNET_PARTS.entrySet()) {
            if (rest.startsWith(e.getKey() + ".")) {
                return e.getValue() + rest.substring(e.getKey().length());
            }
        }
        throw unexpected(key);
    }

    // ---------------------------------------------------------------- VAE

    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.+)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.+)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.+)");

    /** Target entries for every {@code first_stage_model.*} tensor. */
    static List<Entry> vae(Collection<String> keys) {
        int upBlocks = 0;
        for (String key : keys) {
            Matcher m = key.startsWith(VAE_PREFIX) ? VAE_UP.matcher(key.substring(VAE_PREFIX.length())) : null;
            if (m != null && m.matches()) {
                upBlocks = Math.max(upBlocks, Integer.parseInt(m.group(1)) + 1);
            }
        }
        List<Entry> out = new ArrayList<>();
        for (String key : new TreeSet<>(keys)) {
            if (!key.startsWith(VAE_PREFIX)) {
                continue;
            }
            String k = key.substring(VAE_PREFIX.length());
            Matcher down = VAE_DOWN.matcher(k);
            Matcher up = VAE_UP.matcher(k);
            Matcher mid = VAE_MID.matcher(k);
            if (down.matches()) {
                String block = "encoder.down_blocks." + down.group(1);
                out.add(copy(down.group(3) != null
                        ? block + ".resnets." + down.group(3) + "." + vaeResnetPart(down.group(4))
                        : block + ".downsamplers.0." + down.group(4), key));
            } else if (up.matches()) {
                // the original decoder counts up blocks from the lowest resolution; diffusers the other way
                String block = "decoder.up_blocks." + (upBlocks - 1 - Integer.parseInt(up.group(1)));
                out.add(copy(up.group(3) != null
                        ? block + ".resnets." + up.group(3) + "." + vaeResnetPart(up.group(4))
                        : block + ".upsamplers.0." + up.group(4), key));
            } else if (mid.matches()) {
                String prefix = mid.group(1) + ".mid_block.";
                String rest = mid.group(3);
                switch (mid.group(2)) {
                    case "block_1" -> out.add(copy(prefix + "resnets.0." + vaeResnetPart(rest), key));
                    case "block_2" -> out.add(copy(prefix + "resnets.1." + vaeResnetPart(rest), key));
                    default -> out.add(vaeAttention(prefix + "attentions.0.", rest, key));
                }
            } else if (k.startsWith("encoder.norm_out.") || k.startsWith("decoder.norm_out.")) {
                out.add(copy(k.replace(".norm_out.", ".conv_norm_out."), key));
            } else if (k.startsWith("encoder.conv_in.") || k.startsWith("encoder.conv_out.")
                    || k.startsWith("decoder.conv_in.") || k.startsWith("decoder.conv_out.")
                    || k.startsWith("quant_conv.") || k.startsWith("post_quant_conv.")) {
                out.add(copy(k, key));
            } else {
                throw unexpected(key);
            }
        }
        return out;
    }

    private static String vaeResnetPart(String rest) {
        return rest.startsWith("nin_shortcut.") ? "conv_shortcut." + rest.substring("nin_shortcut.".length()) : rest;
    }

    private static Entry vaeAttention(String prefix, String rest, String key) {
        String[] parts = rest.split("\\.", 2);
        String target = switch (parts[0]) {
            case "norm" -> "group_norm";
            case "q" -> "to_q";
            case "k" -> "to_k";
            case "v" -> "to_v";
            case "proj_out" -> "to_out.0";
            default -> throw unexpected(key);
        };
        Transform t = parts[1].equals("weight") && !parts[0].equals("norm") ? Transform.SQUEEZE_1X1 : Transform.COPY;
        return new Entry(prefix + target + "." + parts[1], key, t);
    }

    // ---------------------------------------------------------------- text encoder

    /** SD 1.x: transformers' CLIPTextModel saved under {@code cond_stage_model.transformer.}. */
    static List<Entry> sd1TextEncoder(Collection<String> keys) {
        List<Entry> out = new ArrayList<>();
        for (String key : new TreeSet<>(keys)) {
            if (!key.startsWith(SD1_TEXT_PREFIX)) {
                continue;
            }
            String k = key.substring(SD1_TEXT_PREFIX.length());
            // very old checkpoints lack the "text_model." level
            String target = k.startsWith("text_model.") ? k : "text_model." + k;
            if (target.endsWith("embeddings.position_ids")) {
                continue; // a buffer, not a weight
            }
            out.add(copy(target, key));
        }
        return out;
    }

    /**
     * SD 2.x: OpenCLIP under {@code cond_stage_model.model.}, with q/k/v fused in {@code in_proj_*}. Of OpenCLIP
     * ViT-H's 24 blocks SD2 uses 23 (its conditioning is the penultimate layer), as diffusers and sd-scripts load it;
     * other layer counts are kept whole. {@code text_projection} and {@code logit_scale} are unused.
     */
    static List<Entry> openClipTextEncoder(Collection<String> keys) {
        int blocks = 0;
        Pattern resblock = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.+)");
        for (String key : keys) {
            if (key.startsWith(OPENCLIP_TEXT_PREFIX)) {
                Matcher m = resblock.matcher(key.substring(OPENCLIP_TEXT_PREFIX.length()));
                if (m.matches()) {
                    blocks = Math.max(blocks, Integer.parseInt(m.group(1)) + 1);
                }
            }
        }
        int kept = blocks == 24 ? 23 : blocks;
        List<Entry> out = new ArrayList<>();
        for (String key : new TreeSet<>(keys)) {
            if (!key.startsWith(OPENCLIP_TEXT_PREFIX)) {
                continue;
            }
            String k = key.substring(OPENCLIP_TEXT_PREFIX.length());
            Matcher m = resblock.matcher(k);
            if (m.matches()) {
                int index = Integer.parseInt(m.group(1));
                if (index >= kept) {
                    continue;
                }
                String layer = "text_model.encoder.layers." + index + ".";
                String rest = m.group(2);
                switch (rest) {
                    case "attn.in_proj_weight", "attn.in_proj_bias" -> {
                        String suffix = rest.endsWith("weight") ? "weight" : "bias";
                        out.add(new Entry(layer + "self_attn.q_proj." + suffix, key, Transform.THIRD_0));
                        out.add(new Entry(layer + "self_attn.k_proj." + suffix, key, Transform.THIRD_1));
                        out.add(new Entry(layer + "self_attn.v_proj." + suffix, key, Transform.THIRD_2));
                    }
                    default -> out.add(copy(layer + openClipLayerPart(rest, key), key));
                }
            } else if (k.equals("positional_embedding")) {
                out.add(copy("text_model.embeddings.position_embedding.weight", key));
            } else if (k.equals("token_embedding.weight")) {
                out.add(copy("text_model.embeddings.token_embedding.weight", key));
            } else if (k.startsWith("ln_final.")) {
                out.add(copy("text_model.final_layer_norm." + k.substring("ln_final.".length()), key));
            } else if (!k.equals("text_projection") && !k.equals("logit_scale") && !k.equals("attn_mask")) {
                throw unexpected(key);
            }
        }
        return out;
    }

    private static String openClipLayerPart(String rest, String key) {
        if (rest.startsWith("ln_1.")) {
            return "layer_norm1." + rest.substring(5);
        }
        if (rest.startsWith("ln_2.")) {
            return "layer_norm2." + rest.substring(5);
        }
        if (rest.startsWith("mlp.c_fc.")) {
            return "mlp.fc1." + rest.substring("mlp.c_fc.".length());
        }
        if (rest.startsWith("mlp.c_proj.")) {
            return "mlp.fc2." + rest.substring("mlp.c_proj.".length());
        }
        if (rest.startsWith("attn.out_proj.")) {
            return "self_attn.out_proj." + rest.substring("attn.out_proj.".length());
        }
        throw unexpected(key);
    }

    // ---------------------------------------------------------------- helpers

    private static Entry copy(String target, String source) {
        return new Entry(target, source, Transform.COPY);
    }

    private static List<Map.Entry<Integer, List<String>>> sortedByIndex(Map<Integer, List<String>> blocks) {
        List<Map.Entry<Integer, List<String>>> list = new ArrayList<>(blocks.entrySet());
        list.sort(Map.Entry.comparingByKey());
        return list;
    }

    private static IllegalArgumentException unexpected(String key) {
        return new IllegalArgumentException("unexpected tensor \"" + key + "\" in a Stable Diffusion checkpoint");
    }
}
