package dev.kiln.diffusion.lora;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The kohya {@code networks.lora} network arguments Kiln supports (sd-scripts {@code create_network}):
 * {@code network_dim} (default 4), {@code network_alpha} (default 1), {@code conv_dim}/{@code conv_alpha} ("LoRA-C3Lier"
 * 3×3 conv modules, conv_alpha default 1), the dropouts, and which models get LoRA modules.
 *
 * @param convDim null or 0: no 3×3 conv modules
 */
public record LoraNetworkConfig(int networkDim, float networkAlpha, Integer convDim, float convAlpha,
                                LoraDropout dropout, boolean trainUnet, boolean trainTextEncoder) {

    /** network_args keys sd-scripts knows that Kiln refuses rather than silently ignoring. */
    private static final Set<String> UNSUPPORTED_ARGS = Set.of("block_dims", "block_alphas", "conv_block_dims",
            "conv_block_alphas", "down_lr_weight", "mid_lr_weight", "up_lr_weight", "block_lr_zero_threshold",
            "loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio");

    public LoraNetworkConfig {
        if (networkDim < 0) {
            throw new IllegalArgumentException("network_dim " + networkDim + " must not be negative");
        }
        if (convDim != null && convDim < 0) {
            throw new IllegalArgumentException("conv_dim " + convDim + " must not be negative");
        }
        if (!trainUnet && !trainTextEncoder) {
            throw new IllegalArgumentException(
                    "network_train_unet_only and network_train_text_encoder_only cannot both be set");
        }
    }

    /**
     * Builds the config from sd-scripts' training arguments.
     *
     * @param networkDim          {@code --network_dim} or null (4)
     * @param networkAlpha        {@code --network_alpha} or null (1)
     * @param networkDropout      {@code --network_dropout} or null; wins over {@code dropout} in network_args
     * @param networkArgs         {@code --network_args} as key → string value
     * @param unetOnly            {@code --network_train_unet_only}
     * @param textEncoderOnly     {@code --network_train_text_encoder_only}
     */
    public static LoraNetworkConfig fromArgs(Integer networkDim, Float networkAlpha, Float networkDropout,
                                             Map<String, String> networkArgs, boolean unetOnly,
                                             boolean textEncoderOnly) {
        Map<String, String> args = new LinkedHashMap<>(networkArgs == null ? Map.of() : networkArgs);
        Integer convDim = null;
        float convAlpha = 1f;
        Float dropout = networkDropout;
        Float rankDropout = null;
        Float moduleDropout = null;
        for (Map.Entry<String, String> e : args.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key) {
                case "conv_dim" -> convDim = parseInt(key, value);
                case "conv_alpha" -> convAlpha = parseFloat(key, value);
                case "dropout" -> dropout = networkDropout != null ? networkDropout : parseFloat(key, value);
                case "rank_dropout" -> rankDropout = parseFloat(key, value);
                case "module_dropout" -> moduleDropout = parseFloat(key, value);
                default -> throw new IllegalArgumentException("network_args key '" + key + "' "
                        + (UNSUPPORTED_ARGS.contains(key) ? "is not supported by Kiln" : "is unknown")
                        + " (supported: conv_dim, conv_alpha, dropout, rank_dropout, module_dropout)");
            }
        }
        return new LoraNetworkConfig(networkDim == null ? 4 : networkDim, networkAlpha == null ? 1f : networkAlpha,
                convDim, convAlpha, new LoraDropout(dropout, rankDropout, moduleDropout), !textEncoderOnly,
                !unetOnly);
    }

    /** kohya: an alpha of 0 (or none) means alpha = rank, i.e. scale 1. */
    static float effectiveAlpha(float alpha, int rank) {
        return alpha == 0f ? rank : alpha;
    }

    private static int parseInt(String key, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("network_args " + key + "=" + value + " is not an integer");
        }
    }

    private static float parseFloat(String key, String value) {
        try {
            return Float.parseFloat(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("network_args " + key + "=" + value + " is not a number");
        }
    }
}
