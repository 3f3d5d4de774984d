package dev.kiln.diffusion.train.save;

import dev.kiln.diffusion.lora.LoraModule;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.lora.SavePrecision;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.model.job.JobSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Writes a LoRA file as sd-scripts' {@code LoRANetwork.save_weights} does: the tensors laid out as the safetensors
 * library lays them out, and the metadata plus {@code sshs_model_hash} / {@code sshs_legacy_hash} computed over the
 * serialization whose metadata is only the {@code ss_*} keys (train_util.precalculate_safetensors_hashes).
 */
public final class LoraFiles {
    private static final String DOWN = ".lora_down.weight";
    private static final String UP = ".lora_up.weight";
    private static final String ALPHA = ".alpha";

    private LoraFiles() {}

    /** Writes {@code net} with every tensor, alpha included, in {@code precision}'s dtype. */
    public static Path save(LoraNetwork net, Path file, Map<String, String> metadata, SavePrecision precision) {
        return save(net, file, metadata, precision, m -> false);
    }

    /**
     * Writes {@code net}: weights in {@code precision}'s dtype, each module's alpha as a 0-dim tensor, I64 where
     * {@code int64Alpha} says so (sd-scripts keeps a Python-int alpha as int64 when no save precision is given; see
     * {@link #int64Alpha}), else in {@code precision}'s dtype.
     */
    public static Path save(LoraNetwork net, Path file, Map<String, String> metadata, SavePrecision precision,
            Predicate<LoraModule> int64Alpha) {
        Map<String, String> ssOnly = new LinkedHashMap<>();
        metadata.forEach((k, v) -> {
            if (k.startsWith("ss_")) {
                ssOnly.put(k, v);
            }
        });
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata(ssOnly);
        for (LoraModule m : net.modules().values()) {
            if (int64Alpha.test(m)) {
                long alpha = (long) m.alpha();
                if (alpha != m.alpha()) {
                    throw new IllegalArgumentException("LoRA module '" + m.name() + "': alpha " + m.alpha()
                            + " is not an integer and cannot be saved as int64");
                }
                writer.addLongs(m.name() + ALPHA, new long[0], new long[] {alpha});
            } else {
                writer.addFloats(m.name() + ALPHA, precision.dtype(), new long[0], new float[] {m.alpha()});
            }
            writer.add(m.name() + DOWN, m.down(), precision.dtype());
            writer.add(m.name() + UP, m.up(), precision.dtype());
        }
        writer.sortAsReference();
        ModelHashes.SafetensorsHashes hashes = ModelHashes.ofSerialization(writer);
        writer.metadata(metadata);
        writer.metadata("sshs_model_hash", hashes.modelHash());
        writer.metadata("sshs_legacy_hash", hashes.legacyHash());
        return writer.write(file);
    }

    /**
     * The dtype sd-scripts saves a LoRA in: {@code save_precision} when given; else the training dtype, float32 unless
     * {@code full_fp16} / {@code full_bf16} made the network half precision.
     */
    public static SavePrecision precision(JobSpec job) {
        String given = job.stringArgument("save_precision");
        if (given != null) {
            return SavePrecision.parse(given);
        }
        return job.flag("full_fp16") ? SavePrecision.FP16 : job.flag("full_bf16") ? SavePrecision.BF16
                : SavePrecision.FLOAT;
    }

    /**
     * Which modules sd-scripts saves with an int64 alpha (Appendix A.9): only when no save_precision is given (else
     * every tensor is cast), for modules whose alpha was a Python int. Linear and 1×1 conv modules take
     * network_alpha, an int when left at its default 1; 3×3 conv modules take float(conv_alpha). An alpha of 0
     * becomes the rank, an int, in both cases.
     */
    public static Predicate<LoraModule> int64Alpha(JobSpec job) {
        if (job.stringArgument("save_precision") != null) {
            return m -> false;
        }
        Object networkAlpha = job.argument("network_alpha");
        boolean linearInt = networkAlpha instanceof Long || ((Number) networkAlpha).doubleValue() == 0;
        boolean convInt = false;
        @SuppressWarnings("unchecked")
        List<String> args = (List<String>) job.argument("network_args");
        for (String arg : args == null ? List.<String>of() : args) {
            if (arg.startsWith("conv_alpha=")) {
                convInt = parseOrNaN(arg.substring("conv_alpha=".length())) == 0;
            }
        }
        boolean conv3x3Int = convInt;
        return m -> isConv3x3(m) ? conv3x3Int : linearInt;
    }

    private static boolean isConv3x3(LoraModule m) {
        return m.isConv() && (m.down().getShape().get(2) != 1 || m.down().getShape().get(3) != 1);
    }

    private static double parseOrNaN(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            return Double.NaN; // LoraNetworkConfig reports it
        }
    }
}
