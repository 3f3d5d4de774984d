package dev.kiln.diffusion.train.optim;

import java.util.List;
import java.util.Locale;

/**
 * sd-scripts' {@code --optimizer_type} (case-insensitive; empty means AdamW) with {@code --optimizer_args}. Kiln
 * implements AdamW, Lion, SGDNesterov, AdaFactor and Prodigy; every other sd-scripts optimizer (8-bit and paged
 * bitsandbytes variants, D-Adaptation, schedule-free, dotted class paths) is refused with a clear message.
 */
public final class Optimizers {

    /** The optimizer_type values accepted. */
    public static final List<String> SUPPORTED = List.of("AdamW", "Lion", "SGDNesterov", "AdaFactor", "Prodigy");

    private Optimizers() {
    }

    /**
     * Creates the optimizer.
     *
     * @param optimizerType sd-scripts' optimizer_type, null or "" for AdamW
     * @param optimizerArgs {@code key=value} strings, values as Python literals
     */
    public static Optimizer create(String optimizerType, List<String> optimizerArgs) {
        OptimizerArgs args = OptimizerArgs.parse(optimizerArgs);
        String type = optimizerType == null ? "" : optimizerType.trim();
        return switch (type.toLowerCase(Locale.ROOT)) {
            case "", "adamw" -> new AdamW(args);
            case "lion" -> new Lion(args);
            // sd-scripts' own defaults, which also show in ss_optimizer
            case "sgdnesterov" -> new SgdNesterov(args.withDefault("momentum", 0.9));
            case "adafactor" -> new Adafactor(args.withDefault("relative_step", Boolean.TRUE));
            case "prodigy" -> new Prodigy(args);
            default -> throw new IllegalArgumentException("optimizer_type '" + type + "' is not supported by Kiln"
                    + reason(type.toLowerCase(Locale.ROOT)) + "; supported: " + String.join(", ", SUPPORTED));
        };
    }

    private static String reason(String type) {
        if (type.endsWith("8bit") || type.startsWith("paged") || type.startsWith("bitsandbytes")) {
            return " (bitsandbytes optimizers need CUDA kernels Kiln does not have)";
        }
        if (type.startsWith("dadapt")) {
            return " (D-Adaptation is not implemented; Prodigy is its successor)";
        }
        if (type.endsWith("schedulefree")) {
            return " (schedule-free optimizers are not implemented)";
        }
        return "";
    }
}
